// Issue 17 item 5, the orphaned primary: one replica per primary and waitReplicas 1, a primary killed
// under load. Its replica takes over with no replica of its own, so that shard cannot confirm writes:
// students on the other shards keep being acked; once the killed node is started again it rejoins as
// the new primary's replica and everyone is acked again; nothing acked is lost or doubled.

import t from 'tap';
import { killPrimaryUnderLoad } from '../helpers/shard-kill.js';

t.test('waitReplicas 1, one replica per primary, a primary killed and started again: healthy shards keep acking through the orphaned shard, nothing lost or doubled', async (t) => {
  await killPrimaryUnderLoad(t, { exam: 'CL-ISO-ORPH', replicas: 1, waitReplicas: 1, nodeTimeoutMs: 2_000, restartAfterPromotionMs: 3_000 });
});
