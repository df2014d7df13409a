/**
 * The file a sandbox worker thread runs when kith is not bundled (Node strips the types). In a bundle the
 * bundle itself is the worker file; see worker-entry.ts.
 */
import { runSandboxWorkerIfRequested } from './worker-entry.ts'

runSandboxWorkerIfRequested()
