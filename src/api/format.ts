/**
 * The one way versions, addresses, IDs, times and outcomes are written for a
 * person: the app (renderer), the CLI's human output and the per-unit report
 * all call these. Pure (no Node imports), so the renderer bundles it; it sits
 * in api/ because the renderer may import only api/ (docs/architecture.md).
 */

/** An MCUboot image version (struct image_version in MCUboot's image.h). */
export interface VersionParts {
  major: number;
  minor: number;
  revision: number;
  build: number;
}

/**
 * Versions are written MAJOR.MINOR.REVISION+BUILD, the form imgtool takes
 * (`imgtool sign --version 1.2.3+4`) and prints, and semver's build metadata;
 * "+0" is left out, as Zephyr's img_mgmt leaves out a zero build number, so
 * the slot list of a device ("1.2.0") and a bundle's "1.2.0+0" read the same.
 * Accepted inputs: "1.2.3+4", "v1.2.3.4" (img_mgmt with a build), "1.2.3",
 * "1.2". Anything else (a product's own "2026.1-rc1") is shown unchanged.
 */
export function formatVersion(v: string | VersionParts | undefined | null): string {
  if (v === undefined || v === null) return '—';
  const p = typeof v === 'string' ? parseVersion(v) : v;
  if (!p) return String(v).trim();
  return `${p.major}.${p.minor}.${p.revision}${p.build ? `+${p.build}` : ''}`;
}

export function parseVersion(s: string): VersionParts | undefined {
  const m = /^\s*v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,5}))?(?:[+.](\d{1,10}))?\s*$/i.exec(s);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), revision: Number(m[3] ?? 0), build: Number(m[4] ?? 0) };
}

/** "1.2.0 → 1.3.0"; "1.2.0 (unchanged)" when both are the same version. */
export function formatVersionChange(before: string | undefined, after: string | undefined): string {
  const a = formatVersion(before);
  const b = formatVersion(after);
  return a === b ? `${a} (unchanged)` : `${a} → ${b}`;
}

/** A 32-bit address: 0x and eight lowercase hex digits (0x08000000), as in ST's reference manuals' memory maps. */
export function formatAddress(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) return String(n);
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** A bundle payload target ("address:0x8000000", "smp:image0") in words. */
export function formatTarget(target: string): string {
  const a = /^address:(0x[0-9a-f]+|\d+)$/i.exec(target);
  if (a) return formatAddress(Number(a[1]));
  const s = /^smp:image(\d+)$/.exec(target);
  if (s) return `image ${s[1]} (over SMP)`;
  return target;
}

/**
 * An STM32 product ID (the DBGMCU_IDCODE DEV_ID the ROM bootloader's Get ID
 * returns, AN3155 §3.3): 0x and three hex digits, as ST writes it ("0x413"),
 * with the chip's name when known. Numbers and "0x413"/"413"/"1043" strings
 * are accepted; a decimal string is only taken as decimal with more than
 * three digits, since ST's IDs are 12-bit and always written in hex.
 */
export function formatProductId(pid: number | string | undefined, name?: string): string {
  if (pid === undefined || pid === '') return '—';
  let n: number;
  if (typeof pid === 'number') n = pid;
  else if (/^0x[0-9a-f]+$/i.test(pid.trim())) n = parseInt(pid.trim(), 16);
  else if (/^\d{4,5}$/.test(pid.trim())) n = parseInt(pid.trim(), 10);
  else if (/^[0-9a-f]{1,3}$/i.test(pid.trim())) n = parseInt(pid.trim(), 16);
  else return pid;
  const id = `0x${n.toString(16).padStart(3, '0')}`;
  return name ? `${id} (${name})` : id;
}

/**
 * The `os` row: os_mgmt's info with format "a" answers uname-style text
 * ("Zephyr unknown  3.4.99 Sun Nov 22 … posix unknown native_sim_64 Zephyr":
 * kernel, node, release, version, build time, machine, processor, board, OS;
 * Zephyr's os_mgmt, CONFIG_MCUMGR_GRP_OS_INFO). Shown as "Zephyr 3.4.99 on
 * native_sim_64 (posix), built …"; text that does not split that way is
 * shown with its whitespace tidied.
 */
export function formatOsInfo(raw: string): string {
  const text = raw.replace(/\s+/g, ' ').trim();
  if (!text) return 'Zephyr';
  // Zephyr's build time is "Www Mmm dd hh:mm:ss yyyy" (five words): find it to anchor the rest.
  const m = /^(\S+)\s+(\S+)\s+(?:(\S+)\s+)?(\S+)\s+(\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4})\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(\S+))?$/.exec(text);
  if (!m) return text;
  const [, kernel, , , version, built, machine, , board] = m;
  return `${kernel} ${version} on ${board} (${machine}), built ${built}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "UTC+01:00" / "UTC-05:30" / "UTC" for a minutes-east offset. */
export function formatZone(offsetMinutesEast: number): string {
  if (offsetMinutesEast === 0) return 'UTC';
  const sign = offsetMinutesEast > 0 ? '+' : '-';
  const a = Math.abs(offsetMinutesEast);
  return `UTC${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/**
 * A recorded time in the reader's local time, with its zone, so a report read
 * elsewhere is never ambiguous: "2026-12-07 13:51:22 UTC+01:00". Input: an
 * ISO 8601 time (the service log's). `offsetMinutesEast` fixes the zone
 * (reports, tests); by default the machine's own zone at that instant.
 */
export function formatLocalTime(iso: string, opts: { offsetMinutesEast?: number; seconds?: boolean } = {}): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  const off = opts.offsetMinutesEast ?? -new Date(t).getTimezoneOffset();
  const d = new Date(t + off * 60_000);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${opts.seconds === false ? '' : `:${pad(d.getUTCSeconds())}`}`;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${time} ${formatZone(off)}`;
}

export interface FindingCounts {
  critical: number;
  warning: number;
}

/**
 * The outcome of a recorded action in words. A diagnosis that ran to the end
 * but found a critical problem did not "succeed" for the person reading the
 * record: it reads "problems found: 1 critical", and its tone is "bad".
 */
export function outcomeWords(outcome: string, findings?: FindingCounts): { word: string; tone: 'good' | 'bad' | 'warn' | 'neutral' } {
  const n = (k: number, w: string) => `${k} ${w}`;
  if (outcome === 'succeeded' && findings && findings.critical > 0)
    return { word: `problems found: ${n(findings.critical, 'critical')}${findings.warning ? `, ${n(findings.warning, findings.warning === 1 ? 'warning' : 'warnings')}` : ''}`, tone: 'bad' };
  if (outcome === 'succeeded' && findings && findings.warning > 0) return { word: `done, ${n(findings.warning, findings.warning === 1 ? 'warning' : 'warnings')}`, tone: 'warn' };
  switch (outcome) {
    case 'succeeded':
      return { word: 'done', tone: 'good' };
    case 'failed':
      return { word: 'failed', tone: 'bad' };
    case 'refused':
      return { word: 'refused', tone: 'warn' };
    case 'cancelled':
      return { word: 'cancelled', tone: 'warn' };
    default:
      return { word: outcome, tone: 'neutral' };
  }
}

/** Counts the findings of a list by severity. */
export function countFindings(findings: readonly { severity: string }[] | undefined): FindingCounts {
  const c = { critical: 0, warning: 0 };
  for (const f of findings ?? []) {
    if (f.severity === 'critical') c.critical++;
    else if (f.severity === 'warning') c.warning++;
  }
  return c;
}

/** The number in words of a station socket ("SOCKET 6"), from its 1-based position on the line. */
export function socketName(index: number): string {
  return `Socket ${index + 1}`;
}

/**
 * The versions a recorded job saw before and after, from its recorded facts:
 * Offline update (runningBefore, runningAfter), Recover (slot0After), a
 * station unit (versions.before, versions.image0 / bundle). Undefined when the
 * job wrote nothing that has a version.
 */
export function versionsOf(details: unknown): { before?: string; after?: string } | undefined {
  if (!details || typeof details !== 'object' || Array.isArray(details)) return undefined;
  const d = details as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const v = d.versions && typeof d.versions === 'object' && !Array.isArray(d.versions) ? (d.versions as Record<string, unknown>) : {};
  const before = s(d.runningBefore) ?? s(v.before);
  const after = s(d.runningAfter) ?? s(d.slot0After) ?? s(v.image0) ?? s(v.bundle);
  if (!before && !after) return undefined;
  return { ...(before ? { before: formatVersion(before) } : {}), ...(after ? { after: formatVersion(after) } : {}) };
}
