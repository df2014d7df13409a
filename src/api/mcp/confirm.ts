/**
 * Confirmation of high-risk calls. A client that declared the elicitation capability is asked to show the
 * user a yes/no form, and only the user's answer counts: a `confirm` argument, which the model itself
 * writes, does not skip the prompt. Other clients must pass `confirm: true`, which a model is told to do only
 * after the user agreed; the client's own approval of the tool call is the human step there.
 */
import type { ElicitRequestFormParams } from '@modelcontextprotocol/sdk/types.js'

export interface ElicitAnswer {
  action: 'accept' | 'decline' | 'cancel'
  content?: Record<string, unknown>
}

/** Sends `elicitation/create` with these params; rejects on a timeout or a client error. */
export type Elicit = (params: ElicitRequestFormParams) => Promise<ElicitAnswer>

export interface ConfirmRequest {
  /** the action in words, for the prompt and the refusal: "front-door.unlock on peer 12D3…" */
  what: string
  /** the call's `confirm` argument */
  confirmArgument: unknown
  /** present when the client can show a form */
  elicit?: Elicit
}

export type Confirmation = { ok: true; by: 'elicitation' | 'argument' } | { ok: false; message: string }

/** The form shown to the user: one required yes/no. */
export function confirmForm(what: string): ElicitRequestFormParams {
  return {
    mode: 'form',
    message: `Run ${what}? It is marked high risk.`,
    requestedSchema: {
      type: 'object',
      properties: {
        confirm: { type: 'boolean', title: 'Run it', description: `Yes, run ${what} now`, default: false },
      },
      required: ['confirm'],
    },
  }
}

/**
 * Whether a high-risk call may go ahead; when not, a message saying why and how to confirm.
 *
 * @example
 * await confirmAction({ what: 'door.unlock', confirmArgument: undefined }) // { ok: false, message: '… "confirm": true …' }
 * await confirmAction({ what: 'door.unlock', confirmArgument: true }) // { ok: true, by: 'argument' }
 */
export async function confirmAction(request: ConfirmRequest): Promise<Confirmation> {
  const { what, elicit } = request
  if (elicit != null) {
    let answer: ElicitAnswer
    try {
      answer = await elicit(confirmForm(what))
    } catch (err) {
      return {
        ok: false,
        message: `${what} is high risk and the confirmation prompt failed (${(err as Error).message}); nothing was run.`,
      }
    }
    if (answer.action === 'accept' && answer.content?.confirm === true) return { ok: true, by: 'elicitation' }
    return {
      ok: false,
      message: `${what} is high risk and the user did not confirm it (${answer.action === 'accept' ? 'answered no' : answer.action}); nothing was run.`,
    }
  }
  if (request.confirmArgument === true) return { ok: true, by: 'argument' }
  return {
    ok: false,
    message:
      `${what} is high risk and needs confirmation; nothing was run. Ask the user, and once they agree ` +
      'call the tool again with the same arguments plus "confirm": true.',
  }
}
