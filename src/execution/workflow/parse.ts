/**
 * Reads a workflow file: YAML with line numbers, the schema, then the checks the schema cannot make (unique
 * ids, known dependencies and references, no cycles). Every problem is reported, each with its line.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { z } from 'zod'
import { WorkflowError, type WorkflowProblem } from './errors.ts'
import { findCycle } from './graph.ts'
import { findReferences } from './refs.ts'
import {
  DEFAULT_STEP_TIMEOUT_MS,
  MAX_WORKFLOW_BYTES,
  type Workflow,
  type WorkflowFile,
  type WorkflowStep,
  workflowSchema,
} from './schema.ts'
import { parseYamlSource, type YamlSource } from '../../config/yaml-source.ts'

type Path = Array<string | number>

/**
 * Parses and checks a workflow; throws {@link WorkflowError} listing every problem as `FILE:LINE: path: message`.
 *
 * @example
 * const wf = parseWorkflow('name: w\nsteps:\n  - { id: a, capability: echo }\n  - { id: b, capability: echo, input: "${steps.a.output}" }\n', 'w.yaml')
 * wf.steps[1]?.dependsOn // ['a']
 */
export function parseWorkflow(text: string, file: string): Workflow {
  if (Buffer.byteLength(text, 'utf8') > MAX_WORKFLOW_BYTES)
    throw new WorkflowError([
      { source: file, line: 0, path: '(file)', message: `larger than ${MAX_WORKFLOW_BYTES} bytes` },
    ])
  const src = parseYamlSource(text, file)
  if (Array.isArray(src)) throw new WorkflowError(src)
  const parsed = workflowSchema.safeParse(src.value)
  if (!parsed.success)
    throw new WorkflowError(parsed.error.issues.flatMap((issue) => schemaProblems(issue, src, file)))

  const problems: WorkflowProblem[] = []
  const at = (path: Path, message: string) =>
    problems.push({ source: file, line: src.locate(path).line, path: path.join('.'), message })
  const steps = checkSteps(parsed.data, at)
  for (const found of findReferences(parsed.data.output, ['output'])) {
    if (found.error != null) at(found.at, found.error)
    else if (found.reference?.step != null && !steps.some((s) => s.id === found.reference?.step))
      at(found.at, `${found.reference.text} names no step of this workflow`)
  }
  if (problems.length === 0) {
    const cycle = findCycle(steps)
    if (cycle != null)
      at(['steps', steps.findIndex((s) => s.id === cycle[0])], `dependency cycle: ${cycle.join(' -> ')}`)
  }
  if (problems.length > 0) throw new WorkflowError(problems)
  const wf = parsed.data
  return {
    name: wf.name,
    ...(wf.description != null ? { description: wf.description } : {}),
    timeoutMs: wf.timeoutMs,
    steps,
    ...(wf.output !== undefined ? { output: wf.output } : {}),
    file,
  }
}

/**
 * Reads a workflow file from disk and parses it; throws {@link WorkflowError}.
 *
 * @example
 * const wf = await loadWorkflow('evening.yaml')
 * wf.steps.map((s) => s.id) // ['temp', 'heat']
 */
export async function loadWorkflow(file: string): Promise<Workflow> {
  const path = resolve(file)
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new WorkflowError([
      { source: path, line: 0, path: '(file)', message: `cannot read: ${(err as Error).message}` },
    ])
  }
  if (bytes.byteLength > MAX_WORKFLOW_BYTES)
    throw new WorkflowError([
      { source: path, line: 0, path: '(file)', message: `larger than ${MAX_WORKFLOW_BYTES} bytes` },
    ])
  return parseWorkflow(bytes.toString('utf8'), path)
}

/** Unique ids, known `needs`, well-formed references to other known steps; builds each step's dependencies. */
function checkSteps(wf: WorkflowFile, at: (path: Path, message: string) => void): WorkflowStep[] {
  const firstIndex = new Map<string, number>()
  wf.steps.forEach((s, i) => {
    const seen = firstIndex.get(s.id)
    if (seen == null) firstIndex.set(s.id, i)
    else at(['steps', i, 'id'], `duplicate step id "${s.id}" (first used by steps.${seen})`)
  })
  return wf.steps.map((s, i): WorkflowStep => {
    const deps = new Set<string>()
    const depend = (id: string, path: Path, what: string) => {
      if (id === s.id) at(path, `${what} its own step`)
      else if (!firstIndex.has(id)) at(path, `${what} "${id}", which is not a step of this workflow`)
      else deps.add(id)
    }
    s.needs.forEach((id, j) => depend(id, ['steps', i, 'needs', j], 'needs'))
    for (const found of findReferences(s.input, ['steps', i, 'input'])) {
      if (found.error != null) at(found.at, found.error)
      else if (found.reference?.step != null)
        depend(found.reference.step, found.at, `${found.reference.text} names`)
    }
    return {
      id: s.id,
      target:
        s.capability != null
          ? { capability: s.capability }
          : { intent: { text: s.intent ?? '', ...(s.tags != null ? { tags: s.tags } : {}) } },
      input: s.input,
      // file order, so that a run and its report are stable
      dependsOn: wf.steps.map((o) => o.id).filter((id, k) => deps.has(id) && firstIndex.get(id) === k),
      timeoutMs: s.timeoutMs ?? Math.min(DEFAULT_STEP_TIMEOUT_MS, wf.timeoutMs),
      budget: s.budget,
      tier: s.tier,
      optional: s.optional,
    }
  })
}

function schemaProblems(issue: z.core.$ZodIssue, src: YamlSource, file: string): WorkflowProblem[] {
  const path = issue.path as Path
  if (issue.code === 'unrecognized_keys')
    return issue.keys.map((key) => ({
      source: file,
      line: src.keyLine(path, key) ?? src.locate(path).line,
      path: [...path, key].join('.'),
      message: 'unknown key',
    }))
  return [
    {
      source: file,
      line: src.locate(path).line,
      path: path.length > 0 ? path.join('.') : '(file)',
      message: issue.message,
    },
  ]
}
