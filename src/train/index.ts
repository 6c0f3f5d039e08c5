// toroid.train: a Trainer that runs off the main thread, and training checkpoints.
export { Trainer, type TrainerOptions, type TrainResult, type ProgressEvent } from './trainer.js';
export type { TrainTask, StepResult, CreateTask, TaskContext } from './task.js';
export { saveTrainingState, loadTrainingState, type CheckpointParts, type SaveTrainingStateOptions, type Stateful, type TrainingState } from './state.js';
