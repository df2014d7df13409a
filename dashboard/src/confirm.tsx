/**
 * A modal confirmation (a native `<dialog>` opened with showModal, so the page behind is inert and Escape
 * cancels). Tab is kept inside; focus starts on Cancel, the safe choice, and returns to the opener.
 */
import { useEffect, useId, useRef } from 'preact/hooks'
import type { ComponentChildren } from 'preact'

interface Props {
  title: string
  children: ComponentChildren
  onDone(confirmed: boolean): void
}

export function ConfirmDialog({ title, children, onDone }: Props) {
  const dialog = useRef<HTMLDialogElement>(null)
  const cancel = useRef<HTMLButtonElement>(null)
  const id = useId()
  useEffect(() => {
    const el = dialog.current
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    el?.showModal()
    cancel.current?.focus()
    return () => {
      if (el?.open === true) el.close()
      opener?.focus()
    }
  }, [])

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Tab' || dialog.current == null) return
    const items = [...dialog.current.querySelectorAll<HTMLElement>('button:not([disabled])')]
    const first = items[0]
    const last = items[items.length - 1]
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault()
      last?.focus()
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault()
      first?.focus()
    }
  }

  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-body`}
      onKeyDown={onKeyDown}
      onClose={() => onDone(dialog.current?.returnValue === 'confirm')}
    >
      <h2 id={`${id}-title`}>{title}</h2>
      <div id={`${id}-body`}>{children}</div>
      <div class="buttons">
        <button type="button" class="danger" onClick={() => dialog.current?.close('confirm')}>
          Confirm
        </button>
        <button type="button" ref={cancel} onClick={() => dialog.current?.close('cancel')}>
          Cancel
        </button>
      </div>
    </dialog>
  )
}
