/** The sign-in prompt shown when the node answers 401: the API token goes to sessionStorage, then reload. */
import { useEffect, useId, useRef, useState } from 'preact/hooks'

export function Login({ signIn }: { signIn(token: string): Promise<string | undefined> }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const input = useRef<HTMLInputElement>(null)
  const id = useId()
  useEffect(() => input.current?.focus(), [])

  const onSubmit = async (e: Event) => {
    e.preventDefault()
    if (busy) return
    setBusy(true)
    const refused = await signIn(token.trim())
    setBusy(false)
    setError(refused)
    if (refused != null) input.current?.select()
  }

  return (
    <section class="login" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Sign in</h2>
      <p>
        This node asks for its API token (<code>api.token</code> or <code>api.tokenFile</code> in its config).
        It is kept in this tab only.
      </p>
      <form onSubmit={onSubmit}>
        <div class="field">
          <label for={`${id}-token`}>API token</label>
          <input
            ref={input}
            id={`${id}-token`}
            type="password"
            autocomplete="current-password"
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            {...(error != null ? { 'aria-invalid': 'true', 'aria-describedby': `${id}-error` } : {})}
          />
        </div>
        {error != null && (
          <p id={`${id}-error`} class="problem" role="alert">
            {error}
          </p>
        )}
        <div class="buttons">
          <button type="submit" aria-disabled={busy ? 'true' : undefined}>
            Sign in
          </button>
        </div>
      </form>
    </section>
  )
}
