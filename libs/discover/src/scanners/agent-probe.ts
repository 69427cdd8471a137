/** Agent probes: the OpenAI-compatible model listing and the A2A agent card. Both are plain GETs. */
import { getJson, isRecord } from './http.ts';

/** An OpenAI-compatible endpoint and the models it lists (at most 100 ids). */
export interface OpenAiProbeResult {
  url: string;
  models: string[];
}

/** An A2A agent card (only the fields the registry needs). */
export interface AgentCardResult {
  url: string;
  name: string;
  version?: string;
  skills: string[];
  protocolVersion?: string;
}

/** GET `{base}{path}` expecting `{ object: 'list', data: [{ id }] }`. */
export async function probeOpenAiModels(url: string, signal: AbortSignal): Promise<OpenAiProbeResult | undefined> {
  const body = await getJson(url, signal);
  if (!isRecord(body) || !Array.isArray(body.data)) return undefined;
  if (body.object !== undefined && body.object !== 'list') return undefined;
  const models: string[] = [];
  for (const m of body.data) {
    if (!isRecord(m) || typeof m.id !== 'string') return undefined;
    if (models.length < 100) models.push(m.id.slice(0, 200));
  }
  return { url, models };
}

/** GET an agent card: a JSON object with a `name` and at least `skills`, `capabilities` or `url`. */
export async function probeAgentCard(url: string, signal: AbortSignal): Promise<AgentCardResult | undefined> {
  const card = await getJson(url, signal);
  if (!isRecord(card) || typeof card.name !== 'string' || card.name.length === 0) return undefined;
  if (!Array.isArray(card.skills) && !isRecord(card.capabilities) && typeof card.url !== 'string') return undefined;
  const skills: string[] = [];
  for (const s of Array.isArray(card.skills) ? card.skills : []) {
    const id = isRecord(s) ? (typeof s.id === 'string' ? s.id : typeof s.name === 'string' ? s.name : undefined) : undefined;
    if (id !== undefined && skills.length < 100) skills.push(id.slice(0, 200));
  }
  return {
    url,
    name: card.name.slice(0, 200),
    ...(typeof card.version === 'string' ? { version: card.version.slice(0, 64) } : {}),
    ...(typeof card.protocolVersion === 'string' ? { protocolVersion: card.protocolVersion.slice(0, 32) } : {}),
    skills,
  };
}
