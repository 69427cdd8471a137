/** The web console: static assets and the router that serves them. */
export { createConsoleRouter, loadAssets, CONSOLE_CSP, type ConsoleRouterOptions } from './router.ts';
export {
  evaluateCandidate,
  parseCandidateRequest,
  DEFAULT_CANDIDATE_LIMITS,
  type CandidateEvaluateRequest,
  type CandidateEvaluateResponse,
  type CandidateLimits,
} from './candidate.ts';
