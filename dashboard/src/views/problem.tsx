/** What went wrong loading a view's resources, or that they are still on their way. */
import type { Resource } from '../store.ts'

export function Problem({ resources }: { resources: Resource<unknown>[] }) {
  const error = resources.find((r) => r.error != null && r.error.status !== 401)?.error
  if (error != null)
    return (
      <p class="problem" role="alert">
        {error.status === 404 ? 'This node does not offer this yet: ' : ''}
        {error.message}
      </p>
    )
  if (resources.some((r) => r.data == null && r.error == null)) return <p class="muted">Loading…</p>
  return null
}
