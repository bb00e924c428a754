-- The typical filters of each reporting view, as EXPLAIN ANALYZE (run by deploy/scripts/explain-reports).
\set ON_ERROR_STOP 1
\echo '== usage_by_account_day: one account, last 7 days'
EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM usage_by_account_day WHERE account = 'history-7' AND day >= current_date - 7;
\echo '== usage_by_account_day: every account, one day'
EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM usage_by_account_day WHERE day = current_date - 1;
\echo '== usage_by_account_hour: every account, last 24 hours'
EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM usage_by_account_hour WHERE hour >= now() - interval '24 hours';
\echo '== usage_by_account_hour: one account, last 24 hours'
EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM usage_by_account_hour WHERE account = 'history-7' AND hour >= now() - interval '24 hours';
\echo '== usage_by_sandbox: one account, ended in the last day'
EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM usage_by_sandbox WHERE account = 'history-7' AND ended_at >= now() - interval '1 day';
\echo '== usage_by_sandbox: one sandbox'
EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM usage_by_sandbox WHERE sandbox_id = (SELECT sandbox_id FROM sandbox_usage LIMIT 1);
\echo '== live_by_account'
EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM live_by_account;
\echo '== queue_wait_by_hour: last 24 hours'
EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM queue_wait_by_hour WHERE hour >= now() - interval '24 hours';
\echo '== node_utilisation'
EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM node_utilisation;
