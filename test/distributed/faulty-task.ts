// A small data-parallel task for the failure tests (mpi.test.ts): an MLP over
// synthetic token pairs trained with SGD through the DistributedContext, with one
// fault injected on one rank at one step: stall (stops calling the collective),
// kill (SIGKILL itself), throw (a task error), perturb (changes its parameters
// outside the reduced gradients).
import * as toroid from '../../src/index.js';
import type { TaskContext, TrainTask } from '../../src/train/index.js';

const { F, nn } = toroid;

export interface FaultyOptions {
  fault?: 'stall' | 'kill' | 'throw' | 'perturb';
  faultRank?: number;
  faultStep?: number;
}

export function createTask(options: FaultyOptions = {}, context: TaskContext): TrainTask {
  const dist = context.distributed;
  if (dist === null) throw new Error('faulty-task runs under Trainer({ distributed })');
  toroid.manualSeed(0);
  const model = new nn.Sequential(new nn.Embedding(32, 32), new nn.Linear(32, 32));
  const optimizer = new toroid.optim.SGD(model.parameters(), { lr: 0.1 });
  let step = 0;
  return {
    parts: { model, optimizer },
    trainStep() {
      step++;
      if (dist.rank === options.faultRank && step === options.faultStep) {
        if (options.fault === 'stall') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
        if (options.fault === 'kill') process.kill(process.pid, 'SIGKILL');
        if (options.fault === 'throw') throw new RangeError(`faulty-task: injected failure on rank ${dist.rank} at step ${step}`);
        if (options.fault === 'perturb') toroid.noGrad(() => toroid.nn.init.constant_(model.parameters()[0]!, 0.5));
      }
      const ids = Array.from({ length: 16 }, (_, i) => (i * 7 + step) % 32);
      const mine = dist.shard(ids);
      return toroid.tidy(() => {
        optimizer.zeroGrad();
        const x = toroid.tensor(mine, { dtype: 'int32' });
        const loss = F.crossEntropy(model.forward(x), toroid.tensor(mine.map((i: number) => (i + 1) % 32), { dtype: 'int32' }));
        dist.backward(loss, { weight: mine.length / ids.length });
        optimizer.step();
        return { loss: loss.item(), tokens: mine.length };
      });
    },
  };
}
