/**
 * `kith sim`: the simulator is not in kith. It lives in the top-level sim/ of a checkout (it imports src/,
 * src/ never imports it), so the binary stays free of 5,000 lines only developers run.
 */

/** The one line `kith sim` prints (exit 2, usage): where the simulator went and how to run it. */
export const SIM_MOVED =
  'kith: the simulator is not in the kith binary; from a checkout of kith, run `npm run sim -- <scenario.yaml>` ' +
  '(scenarios in sim/scenarios/, see docs/simulation.md)'
