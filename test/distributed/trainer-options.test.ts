// Trainer({ distributed }) outside a launcher, and its option checks: clear errors,
// no hang, nothing initialised.
import { describe, expect, it } from 'vitest';
import { Trainer } from '../../src/index.js';

const task = new URL('./faulty-task.ts', import.meta.url);

describe('Trainer({ distributed })', () => {
  it("'mpi' in a process that mpirun did not start rejects with the command to use", async () => {
    const env = { ...process.env };
    delete process.env.OMPI_COMM_WORLD_RANK;
    try {
      const trainer = new Trainer({ task, maxSteps: 2, distributed: 'mpi' });
      await expect(trainer.result).rejects.toThrow(/distributed 'mpi' needs the process to be started by mpirun \(OMPI_COMM_WORLD_RANK is not set\): mpirun -np 2/);
    } finally {
      process.env = env;
    }
  }, 30_000);

  it("'nccl' without the launcher's variables names them", async () => {
    const trainer = new Trainer({ task, maxSteps: 2, distributed: { engine: 'nccl', timeoutSeconds: 5 } });
    await expect(trainer.result).rejects.toThrow(/distributed 'nccl' needs a launcher, but neither RANK \(torchrun\), SLURM_PROCID \(srun\) nor OMPI_COMM_WORLD_RANK \(mpirun\) is set/);
  }, 30_000);

  it('checks its options before starting a worker', () => {
    expect(() => new Trainer({ task, maxSteps: 1, distributed: 'gloo' as 'mpi' })).toThrow(/toroid\.Trainer: options\.distributed must be one of 'mpi', 'nccl', got "gloo"/);
    expect(() => new Trainer({ task, maxSteps: 1, distributed: { engine: 'mpi', timeoutSeconds: 0 } })).toThrow(/options\.distributed\.timeoutSeconds must be a positive finite number, got 0$/);
    expect(() => new Trainer({ task, maxSteps: 1, distributed: { engine: 'mpi', bucketBytes: 1.5 } })).toThrow(/options\.distributed\.bucketBytes must be a positive integer, got 1\.5$/);
    expect(() => new Trainer({ task, maxSteps: 1, distributed: { engine: 'mpi', checkEvery: -1 } })).toThrow(/options\.distributed\.checkEvery must be a non-negative integer, got -1$/);
    expect(() => new Trainer({ task, maxSteps: 1, distributed: { engine: 'tcp' as 'mpi' } })).toThrow(/options\.distributed\.engine must be one of 'mpi', 'nccl', got "tcp"$/);
  });
});
