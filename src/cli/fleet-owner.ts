/**
 * `kith fleet owner init --dir DIR [--json]`: writes the fleet owner key (DIR/owner.key, mode 0600) and prints
 * the owner id; a fleet file names that id as `owner:`. The key stays with the person who runs the fleet.
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { createOwnerKey } from '../fleet/owner.ts'

export interface OwnerInitOptions {
  dir: string
  json?: boolean
}

/**
 * Creates the owner key and prints its id (or `{"owner","key"}` with `json`); an existing key is refused with
 * an OwnerKeyError (exit 78) that says to keep it.
 *
 * @example
 * await ownerInitCommand({ dir: 'owner' }) // prints "12D3KooW…"
 */
export async function ownerInitCommand(options: OwnerInitOptions): Promise<void> {
  const owner = await createOwnerKey(options.dir)
  if (options.json === true) console.log(JSON.stringify({ owner: owner.id, key: resolve(owner.file) }))
  else console.log(owner.id)
}

/** Adds `owner init` under the `fleet` command. */
export function addOwnerCommands(fleet: Command): void {
  fleet
    .command('owner')
    .description('the fleet owner key, which will sign the fleet’s releases')
    .command('init')
    .description('write DIR/owner.key (mode 0600) and print the owner id; refuses to replace a key')
    .requiredOption('--dir <dir>', 'directory for the key (created mode 0700 if missing)')
    .option('--json', 'print {"owner","key"} instead of the owner id alone')
    .action(async (opts: OwnerInitOptions) => ownerInitCommand(opts))
}
