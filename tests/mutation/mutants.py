"""The mutants of scripts/mutate: one safety rule broken each.

Each is a dict:
  id       short name (scripts/mutate ID runs that one)
  file     the source file, from the top of the tree
  old      exact text, found exactly once in file (short, but unique)
  new      what replaces it
  breaks   the behaviour the mutant breaks, as users would notice
  tests    the narrowest tests that should catch it, run in order until one
           fails: a meson test name ("engine") or a pytest node id
           ("tests/system/test_x.py::test_y"); unit tests first (fast)
  survives (only for a mutant known to survive) why: an equivalent mutant

The old texts are exact, tabs included (\t): when the code moves, the runner
says which old text is no longer found, and the text is updated here."""

SYS = "tests/system/"
R53F = SYS + "test_route53_faults.py::"
HOSTILE = SYS + "test_xfr_hostile.py::"


def m(id, file, old, new, breaks, *tests, survives=None):
    d = dict(id=id, file=file, old=old, new=new, breaks=breaks, tests=list(tests))
    if survives:
        d["survives"] = survives
    return d


MUTANTS = [
    # --- NOTIFY: ACL and TSIG -------------------------------------------------------------
    m("notify-acl-udp", "src/xfr/notify.c",
      "} else if (!zone->source_ok) {", "} else if (0) {",
      "a NOTIFY from a source in no ACL is accepted", "notify"),
    m("notify-acl-tcp", "src/xfr/notify.c",
      "if (c->source == NOTIFY_SOURCE_NONE) {", "if (0) {",
      "a TCP connection from a source in no ACL is kept", "notify",
      SYS + "test_secondary.py::test_notify_checks"),
    m("notify-acl-address", "src/conf/conf.c",
      "if (net_same_ip((const struct sockaddr *)&p->addr[i].ss, from)) {",
      "if (1) {",
      "any source counts as the primary's address", "conf",
      SYS + "test_secondary.py::test_notify_checks"),
    m("notify-tsig-mac", "src/xfr/notify.c",
      "\t\tif (tsig_ret == KNOT_EOK) {\n\t\t\tverified = true;",
      "\t\tif (1) {\n\t\t\tverified = true;",
      "a NOTIFY signed with a wrong secret is accepted", "notify",
      SYS + "test_secondary.py::test_notify_checks"),
    m("notify-tsig-unsigned", "src/xfr/notify.c",
      'reason = "unsigned";', "(void)0;",
      "an unsigned NOTIFY is accepted for a zone with a key", "notify",
      SYS + "test_secondary.py::test_notify_checks"),
    m("notify-tsig-unknown-key", "src/xfr/notify.c",
      'reason = "unknown-key";', "(void)0;",
      "a NOTIFY signed with a key we do not know is accepted", "notify",
      SYS + "test_secondary.py::test_notify_checks"),

    # --- transfer TSIG ----------------------------------------------------------------------
    m("xfr-tsig-mac", "src/xfr/xfr.c",
      '\tif (ret != KNOT_EOK) {\n\t\treturn errf(err, errlen, -EPERM, "%s: TSIG check failed',
      '\tif (false) {\n\t\treturn errf(err, errlen, -EPERM, "%s: TSIG check failed',
      "a transfer answer with a forged MAC is taken", "xfr",
      HOSTILE + "test_forged_mac_on_a_transfer_is_refused"),
    m("xfr-tsig-unsigned", "src/xfr/xfr.c",
      "\t\tif (ts->signed_msgs == 0) {\n\t\t\treturn errf(",
      "\t\tif (0) {\n\t\t\treturn errf(",
      "an unsigned transfer answer is taken when a key is set", "xfr"),
    m("xfr-tsig-last-unsigned", "src/xfr/xfr.c",
      "if (ss->ts.key != NULL && ss->ts.unsigned_count > 0) {", "if (0) {",
      "a transfer whose last messages are unsigned is taken", "xfr"),

    # --- RFC 1982 ---------------------------------------------------------------------------
    m("serial-wrap", "src/dns/serial.c",
      "return d < UINT32_C(0x80000000) ? SERIAL_LT : SERIAL_GT;",
      "return a < b ? SERIAL_LT : SERIAL_GT;",
      "serials compared as plain integers (no wrap)", "serial"),
    m("serial-undefined", "src/dns/serial.c",
      "if (d == UINT32_C(0x80000000)) {", "if (0) {",
      "serials 2^31 apart get an order", "serial"),
    m("serial-add-limit", "src/dns/serial.c",
      "if (n > UINT32_C(0x7fffffff)) {", "if (0) {",
      "serial addition over 2^31-1 allowed", "serial"),
    m("xfr-uptodate-undefined", "src/xfr/xfr.c",
      "serial_cmp(s->have, serial) == SERIAL_GT)) {",
      "serial_cmp(s->have, serial) != SERIAL_LT)) {",
      "an IXFR answer 2^31 away is taken for up to date", "xfr"),

    # --- the serial never goes back -----------------------------------------------------------
    m("refresh-older-than-ours", "src/sync/refresh.c",
      "if (ours == SERIAL_LT || ours == SERIAL_EQ) {", "if (ours == SERIAL_EQ) {",
      "a transfer older than the zone held is committed",
      HOSTILE + "test_serial_rollback_refused[axfr-older-than-ours]"),
    m("refresh-older-than-soa", "src/sync/refresh.c",
      "} else if (serial_cmp(got, soa) == SERIAL_LT) {", "} else if (0) {",
      "a transfer older than the primary's SOA answer is committed",
      HOSTILE + "test_serial_rollback_refused[axfr-older-than-soa-answer]"),
    m("refresh-stale-not-final", "src/sync/refresh.c",
      "ret == -ETIMEDOUT || ret == -ESTALE || ret == -ECANCELED;",
      "ret == -ETIMEDOUT || ret == -ECANCELED;",
      "a stale IXFR is followed by an AXFR (the primary asked again)",
      HOSTILE + "test_serial_rollback_refused[ixfr-full-zone-older-than-soa-answer]"),

    # --- IXFR apply (where it runs: store_zone_apply) -------------------------------------------
    m("ixfr-missing-deletion", "src/store/snapshot.c",
      "\t\t\tif (ret == -ENOENT) {\n\t\t\t\treturn refuse(",
      "\t\t\tif (ret == -ENOENT) {\n\t\t\t\tcontinue;\n\t\t\t}\n\t\t\tif (0) {\n\t\t\t\treturn refuse(",
      "an IXFR deleting records we do not have is applied", "store",
      HOSTILE + "test_ixfr_that_does_not_match_falls_back_to_axfr"),
    m("ixfr-serial-check", "src/store/snapshot.c",
      "if (soa.serial != want) {", "if (0) {",
      "an IXFR whose SOA differs from its last step is applied", "store"),
    m("ixfr-outside-zone", "src/store/snapshot.c",
      "if (rr->keylen < alen || memcmp(rr->key, akey, alen) != 0) {", "if (0) {",
      "an IXFR adding records outside the zone is applied", "store"),
    # --- AXFR commit (store in chunks, issue 16) ---------------------------------------------
    m("axfr-old-chunks-kept", "src/store/snapshot.c",
      'store_prepare(s, "DELETE FROM chunk WHERE zone=?1", &st)',
      'store_prepare(s, "DELETE FROM chunk WHERE 0", &st)',
      "an AXFR leaves the old snapshot's records beside the new (a mix; the file grows)", "store"),
    m("axfr-replace-not-atomic", "src/store/snapshot.c",
      'chunk WHERE zone=?1", &st) != SQLITE_OK) {\n\t\tstore_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));\n\t\treturn rollback(s, -EIO);\n\t}\n\tsqlite3_bind_int64(st, 1, id);\n\tint rc = sqlite3_step(st);\n\tstore_done(st);',
      'chunk WHERE zone=?1", &st) != SQLITE_OK) {\n\t\tstore_fail(err, errlen, -EIO, "store: %s", sqlite3_errmsg(s->db));\n\t\treturn rollback(s, -EIO);\n\t}\n\tsqlite3_bind_int64(st, 1, id);\n\tint rc = sqlite3_step(st);\n\tstore_done(st);\n\tstore_exec(s, "COMMIT");\n\tstore_exec(s, "BEGIN");',
      "a kill during an AXFR's commit leaves the zone without records", "store"),
    m("axfr-strays-unsorted", "src/zone/zone.c",
      "\tqsort(strays, ns, sizeof(*strays), rr_cmp);\n", "\t(void)rr_cmp;\n",
      "records out of place in a transfer are merged back unsorted", "zone"),
    m("ixfr-mismatch-final", "src/sync/refresh.c",
      "*final = ret == -EFBIG ||", "*final = ret == -EINVAL || ret == -EFBIG ||",
      "an IXFR that does not apply is not followed by an AXFR",
      HOSTILE + "test_ixfr_that_does_not_match_falls_back_to_axfr"),

    # --- dirty / clean order --------------------------------------------------------------------
    m("dirty-after-write", "src/sync/engine.c",
      "a crash leaves it dirty */\n\t\trecord(z->store, zc, tc, &ts, NULL);",
      "a crash leaves it dirty */",
      "the dirty mark is not recorded before the first write", "engine"),
    m("dirty-counts-as-clean", "src/sync/engine.c",
      "bool clean = ts.has_serial && !ts.dirty && ts.serial == z->serial;",
      "bool clean = ts.has_serial && ts.serial == z->serial;",
      "a dirty target at the current serial is taken for up to date", "engine",
      R53F + "test_failed_batch_leaves_target_dirty_then_converges"),
    m("dirty-incremental", "src/sync/engine.c",
      "ts.has_serial && !ts.dirty &&\n", "ts.has_serial &&\n",
      "a dirty target gets an incremental push (no read)", "engine",
      R53F + "test_failed_batch_leaves_target_dirty_then_converges"),

    # --- max-delete and max-update --------------------------------------------------------------
    m("max-delete-off", "src/sync/engine.c",
      "if (del > max_del) {", "if (0) {",
      "max-delete no longer refuses", "engine",
      SYS + "test_route53.py::test_max_delete_refuses_then_force"),
    m("max-update-off", "src/sync/engine.c",
      "} else if (upd > max_upd) {", "} else if (0) {",
      "max-update no longer refuses", "engine",
      SYS + "test_route53.py::test_max_update_refuses_then_force"),
    m("limit-percent", "src/sync/engine.c",
      "return total * l.value / 100;", "return total;",
      "a percentage limit allows everything", "engine",
      SYS + "test_route53.py::test_max_delete_refuses_then_force"),
    m("limit-no-force", "src/sync/engine.c",
      "if (r->ret == 0 && limited && !o->force) {\n\t\tr->ret = check_limits(zc, r);\n\t}\n\t/*",
      "if (r->ret == 0 && limited) {\n\t\tr->ret = check_limits(zc, r);\n\t}\n\t/*",
      "--force no longer applies a change over a limit", "engine",
      SYS + "test_route53.py::test_max_update_refuses_then_force"),
    m("limit-after-reread", "src/sync/engine.c",
      "\t\t\tif (r->ret == 0 && limited && !o->force) {\n\t\t\t\tr->ret = check_limits(",
      "\t\t\tif (false) {\n\t\t\t\tr->ret = check_limits(",
      "no limit on what a re-read after a conflict (-ESTALE) finds", "engine"),

    # --- first contact --------------------------------------------------------------------------
    m("adopt-no-hold", "src/sync/engine.c",
      "out.hold = in->read && in->deletions > 0;", "out.hold = false;",
      "first contact deletes the provider's own records", "engine"),
    m("adopt-first-only", "src/sync/engine.c",
      "bool first = !in->known || in->unadopted;", "bool first = !in->known;",
      "an unadopted pair is taken for adopted at its second push", "engine"),
    m("adopt-unguarded", "src/sync/engine.c",
      "bool guarded = !r->notifier &&", "bool guarded = false &&",
      "no first-contact safety for any provider", "engine",
      SYS + "test_first_contact.py::test_route53_first_contact_keeps_handmade_records"),

    # --- ignore / exclude rules and conflicts ---------------------------------------------------
    m("ignore-off", "src/zone/view.c",
      "if (i < n && zone_rule_match_set(&r->filter->ignore[i], o)) {", "if (0) {",
      "ignore rules keep nothing", "rules"),
    m("exclude-off", "src/zone/view.c",
      "if (zone_rule_match_rr(&f->exclude[k], o, i)) {", "if (0) {",
      "exclude rules keep nothing from the providers", "rules"),
    m("conflict-forced", "src/sync/engine.c",
      "\t\t\tif (why != NULL) {\n\t\t\t\tif (target_foreign_add(",
      "\t\t\tif (false) {\n\t\t\t\tif (target_foreign_add(",
      "an addition over a target's own set is written (conflict not dropped)", "engine"),
    m("conflict-not-read", "src/sync/engine.c",
      "if (zone_rule_match_name_type(&r->rules.ignore[k], &o)) {", "if (0) {",
      "an incremental addition at an ignored name is written without a read", "engine"),

    # --- batching limits and RRset atomicity -------------------------------------------------------
    m("r53-owner-split", "src/target/route53/r53batch.c",
      "while (j < out->count && out->change[j].unit == out->change[i].unit) {",
      "while (j < out->count && j == i) {",
      "Route 53: one owner's changes may straddle two batches", "route53",
      R53F + "test_batches_within_limits_and_rrsets_not_split"),
    m("r53-records-limit", "src/target/route53/r53batch.c",
      "if (cur.records + u.records > room.records || cur.chars",
      "if (cur.chars",
      "Route 53: a batch over 1,000 records", "route53"),
    m("r53-chars-limit", "src/target/route53/r53batch.c",
      "|| cur.chars + u.chars > room.chars) {", ") {",
      "Route 53: a batch over 32,000 characters", "route53"),
    m("r53-upsert-cost", "src/target/route53/r53batch.c",
      "size_t f = a == R53_UPSERT ? 2 : 1;", "size_t f = 1;",
      "Route 53: an UPSERT counted once (it counts twice)", "route53",
      R53F + "test_batches_within_limits_and_rrsets_not_split"),
    m("pdns-owner-split", "src/target/powerdns/pdnsbatch.c",
      "if (in_batch > 0 && in_batch + n > max) {", "if (0) {",
      "PowerDNS: one owner's changes may straddle two PATCHes", "powerdns",
      SYS + "test_powerdns.py::test_batch_size"),
    m("pdns-batch-size", "src/target/powerdns/pdnsbatch.c",
      "size_t max = batch_size == 0 ? d->count : batch_size;",
      "size_t max = ((void)batch_size, d->count);",
      "PowerDNS: batch-size ignored", "powerdns", SYS + "test_powerdns.py::test_batch_size"),
    m("rfc2136-owner-split", "src/target/rfc2136/updmsg.c",
      "while (j < p->count && unit[j] == unit[i]) {\n\t\t\tub +=",
      "while (j < p->count && ((void)unit, j == i)) {\n\t\t\tub +=",
      "RFC 2136: a name's changes split between UPDATE messages", "rfc2136"),
    m("rfc2136-max-changes", "src/target/rfc2136/updmsg.c",
      "if (cur + ub <= room && cur_n + un <= max_changes) {", "if (cur + ub <= room) {",
      "RFC 2136: batch-size ignored", "rfc2136"),
    m("rfc2136-message-room", "src/target/rfc2136/updmsg.c",
      "if (cur + ub <= room && cur_n + un <= max_changes) {",
      "if (cur_n + un <= max_changes) {",
      "RFC 2136: an UPDATE over 64 KiB", "rfc2136"),

    # --- DELETE with the live values ----------------------------------------------------------------
    m("r53-delete-own-text", "src/target/route53/r53batch.c",
      "values(s, del ? raw : NULL, sc,", "values(s, ((void)raw, (r53_raw_t *)NULL), sc,",
      "Route 53: a DELETE carries our text, not the text as listed", "route53",
      R53F + "test_delete_carries_the_live_text"),
    m("r53-delete-raw-dropped", "src/target/route53/route53.c",
      "live_known ? &t->raw : NULL", "NULL",
      "Route 53: the listed text is not handed to the batch planner",
      R53F + "test_delete_carries_the_live_text"),

    # --- retry and backoff -----------------------------------------------------------------------------
    m("r53-throttling-not-retried", "src/target/route53/r53xml.c",
      'if (status == 429 || strcmp(code, "Throttling") == 0) {', "if (status == 429) {",
      "Route 53: a Throttling error (a 400) is not retried", "route53",
      R53F + "test_bursts_of_faults_are_retried"),
    m("r53-bad-request-retried", "src/target/route53/r53xml.c",
      "\treturn R53_GIVE_UP;\n}", "\treturn R53_RETRY;\n}",
      "Route 53: an invalid request is sent again and again", "route53",
      R53F + "test_invalid_input_is_not_retried"),
    m("backoff-not-exponential", "src/net/retry.c",
      "\t\td *= 2;", "\t\td *= 1;",
      "retries do not back off", "retry"),
    m("backoff-no-cap", "src/net/retry.c",
      "if (d > cap) {", "if (0) {",
      "the backoff grows without bound", "retry"),
    m("retry-budget-ignored", "src/net/retry.c",
      "return budget <= 0 || mono() + pause - started < budget;",
      "return (void)started, (void)pause, (void)budget, true;",
      "retries go on past the retry budget", "retry"),

    # --- rate limits -------------------------------------------------------------------------------
    m("ratelimit-largest", "src/net/retry.c",
      "if (r->owner[k].rate < r->rate) {", "if (r->owner[k].rate > r->rate) {",
      "an account's limiter runs at its targets' largest rate", "retry"),
    m("ratelimit-free", "src/net/retry.c",
      "\tr->tokens -= 1;", "\tr->tokens -= 0;",
      "requests are never paced", "retry"),
    m("ratelimit-per-target", "src/target/route53/route53.c",
      '"route53 %s account %s", t->base, account);',
      '"route53 %s account %s %s", t->base, account, t->conf->id);',
      "Route 53: a limiter per target, not per account",
      SYS + "test_aws_credentials.py::test_one_rate_limit_per_account"),

    # --- credential source selection (src/net/awscreds.c) ---------------------------------------------
    m("creds-env-skipped", "src/net/awscreds.c",
      "} else if (env_keys(out) == 0) {", "} else if (0) {",
      "the environment's keys are not used", "awscreds"),
    m("creds-env-over-profile", "src/net/awscreds.c",
      "if (want->profile != NULL) {\n\t\ttried(", "if (0) {\n\t\ttried(",
      "the environment wins over a profile the target names", "awscreds",
      SYS + "test_aws_credentials.py::test_named_profile_wins_over_environment"),
    m("creds-config-before-credentials", "src/net/awscreds.c",
      "\tif (exists && (static_keys(w, profile, true, out) == 0 ||",
      "\tif (exists && (static_keys(w, profile, false, out) == 0 ||",
      "the config file's keys win over the credentials file's", "awscreds"),
    m("creds-role-skipped", "src/net/awscreds.c",
      '\tif (exists && pget(w, profile, "role_arn") != NULL) {',
      "\tif (false) {",
      "a profile's role_arn is not assumed (its source keys used as they are)", "awscreds",
      SYS + "test_aws_credentials.py::test_role_profile_assume_role"),
]
