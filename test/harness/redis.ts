/**
 * Redis for the tests: the servers of ./redis-server.ts, and the requirement
 * that skips (or, under WASMGATE_REQUIRE_ALL=1, fails) when redis-server is
 * not installed.
 */
import { hasCommand, requirement } from './skip.ts';

export { freePort, RedisCluster, RedisServer } from './redis-server.ts';

export const redisAvailable = () =>
  requirement(
    'redis-server',
    hasCommand('redis-server') && hasCommand('redis-cli'),
    'bash scripts/install-system-deps.sh (apt-get install redis-server)',
  );
