/**
 * Webhook alerts for the jobs (monitor, promote). One JSON payload that both Slack incoming webhooks and Teams
 * (Office 365 connector / Workflows "post to a channel when a webhook request is received") accept: both render
 * the top-level `text`; Slack additionally renders `blocks`, Teams the MessageCard fields (`@type`, `summary`,
 * `themeColor`, `sections`). Each ignores the other's fields.
 *
 * A failed alert never fails the job: `notify` never throws and reports what happened. The webhook URL is a secret
 * (it carries its own token): it is never logged or returned, only a masked form (scheme + host).
 */

export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface AlertEvent {
  title: string;
  severity: AlertSeverity;
  text: string;
  fields?: Record<string, string | number>;
}

export interface NotifyOptions {
  /** Webhook URL; default `process.env.MLOPS_ALERT_WEBHOOK_URL`. */
  url?: string;
  /** Retries after the first attempt on 5xx, 429 and network errors (default 3). */
  retries?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  /** First backoff delay; doubles each retry, with ±25 % jitter (default 500 ms). */
  baseDelayMs?: number;
  /** Longest single wait, also caps `Retry-After` (default 30 s). */
  maxDelayMs?: number;
}

export interface NotifyResult {
  delivered: boolean;
  /** HTTP attempts made (0 when no webhook is configured). */
  attempts: number;
  /** True when no webhook URL was configured: nothing was sent. */
  skipped?: boolean;
  /** HTTP status of the last attempt, when one was received. */
  status?: number;
  error?: string;
  /** The webhook's scheme and host only (the path and query carry the secret). */
  target?: string;
}

export const ALERT_WEBHOOK_ENV = 'MLOPS_ALERT_WEBHOOK_URL';

const COLORS: Record<AlertSeverity, string> = { info: '2EB67D', warning: 'ECB22E', critical: 'E01E5A' };
const ICONS: Record<AlertSeverity, string> = { info: 'ℹ️', warning: '⚠️', critical: '🚨' };

/** `https://hooks.example.com/…` — never the path or query, which hold the token. */
export function maskWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(invalid URL)';
  }
}

/** The JSON body posted to the webhook. */
export function alertPayload(event: AlertEvent): Record<string, unknown> {
  const fields = Object.entries(event.fields ?? {}).map(([name, value]) => ({ name, value: String(value) }));
  const header = `${ICONS[event.severity]} [${event.severity.toUpperCase()}] ${event.title}`;
  const text = [header, event.text, ...fields.map((f) => `• ${f.name}: ${f.value}`)].filter((l) => l !== '').join('\n');
  return {
    text,
    // Slack Block Kit.
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(`${ICONS[event.severity]} ${event.title}`, 150), emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: truncate(`*${event.severity.toUpperCase()}* — ${event.text}`, 3000) } },
      ...(fields.length > 0
        ? [{ type: 'section', fields: fields.slice(0, 10).map((f) => ({ type: 'mrkdwn', text: truncate(`*${f.name}*\n${f.value}`, 2000) })) }]
        : []),
    ],
    // Teams MessageCard (legacy connector schema; `text` is what Workflows-based webhooks show).
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: truncate(header, 200),
    title: event.title,
    themeColor: COLORS[event.severity],
    sections: fields.length > 0 ? [{ facts: fields }] : [],
  };
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Removes the URL (and its path) from an error text, in case a lower layer quoted it. */
function scrub(message: string, url: string): string {
  let out = message.split(url).join(maskWebhookUrl(url));
  try {
    const { pathname, search } = new URL(url);
    if (pathname.length > 1) out = out.split(pathname).join('/…');
    if (search) out = out.split(search).join('');
  } catch {
    // not a URL: nothing more to hide
  }
  return out;
}

/** Posts an alert with retries and exponential backoff. Never throws. */
export async function notify(event: AlertEvent, options: NotifyOptions = {}): Promise<NotifyResult> {
  const url = options.url ?? process.env[ALERT_WEBHOOK_ENV];
  if (!url || url.trim() === '') {
    return { delivered: false, attempts: 0, skipped: true, error: `no webhook configured (${ALERT_WEBHOOK_ENV} is not set)` };
  }
  const target = maskWebhookUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    return { delivered: false, attempts: 0, error: 'the webhook URL is not a valid http(s) URL', target };
  }
  const retries = Math.max(0, Math.floor(options.retries ?? 3));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  let body: string;
  try {
    body = JSON.stringify(alertPayload(event));
  } catch (err) {
    return { delivered: false, attempts: 0, error: `cannot build the alert: ${(err as Error).message}`, target };
  }

  let attempts = 0;
  let status: number | undefined;
  let error = '';
  for (;;) {
    attempts++;
    let waitHint: number | null = null;
    let retryable = false;
    try {
      const response = await fetch(parsed, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      status = response.status;
      // Drain the body so the connection is released; its content is not needed (Slack answers "ok").
      const answer = await response.text().catch(() => '');
      if (response.ok) return { delivered: true, attempts, status, target };
      error = `webhook answered ${response.status}${answer ? `: ${scrub(answer.slice(0, 200), url)}` : ''}`;
      retryable = response.status === 429 || response.status === 408 || response.status >= 500;
      if (retryable) waitHint = retryAfterMs(response.headers.get('retry-after'));
    } catch (err) {
      status = undefined;
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      error = `webhook not reachable: ${scrub(String(reason), url)}`;
      retryable = true;
    }
    if (!retryable || attempts > retries) {
      return { delivered: false, attempts, ...(status !== undefined ? { status } : {}), error, target };
    }
    const backoff = baseDelayMs * 2 ** (attempts - 1) * (0.75 + Math.random() * 0.5);
    await sleep(Math.min(maxDelayMs, waitHint ?? backoff));
  }
}
