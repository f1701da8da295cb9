// Loading and persisting a data directory (write-ahead log and snapshot).
import type { LoadedState } from './embedded.ts';
import { StoreError } from './store.ts';

export async function loadDataDir(dir: string, _options: { fsync: boolean; snapshotThresholdBytes?: number }): Promise<LoadedState> {
  throw new StoreError('invalid', `on-disk store in ${dir} is not available yet`);
}
