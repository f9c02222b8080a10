// Value syntaxes of the docker CLI, as its Go code reads them (strconv,
// time.ParseDuration, go-units, math/big, net.ParseIP, encoding/csv, path.Clean),
// so that `run_args` values mean what they mean to `docker run`.
// Each parser throws an Error whose message says what is wrong.

/** Integers above this cannot be sent exactly in a JSON body built by JavaScript. */
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

export function exactNumber(v: bigint, what = "value"): number {
  if (v > MAX_EXACT || v < -MAX_EXACT) throw new Error(`${what} ${v} is out of the range svcmgr sends exactly (±${Number.MAX_SAFE_INTEGER})`);
  return Number(v);
}

/** strconv.ParseBool */
export function parseBool(s: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing "${s}": invalid syntax`);
}

/** strconv's underscoreOK: underscores only between digits or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s[0] === "-" || s[0] === "+") s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && "bBoOxX".includes(s[1]!)) {
    i = 2;
    saw = "0";
    hex = "xX".includes(s[1]!);
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= "0" && c <= "9") || (hex && /[a-fA-F]/.test(c))) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

const DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz";

function digitsValue(s: string, base: number, allowUnderscore: boolean): bigint | undefined {
  if (s === "") return undefined;
  let v = 0n;
  for (const ch of s.toLowerCase()) {
    if (ch === "_" && allowUnderscore) continue;
    const d = DIGITS.indexOf(ch);
    if (d < 0 || d >= base) return undefined;
    v = v * BigInt(base) + BigInt(d);
  }
  return v;
}

/**
 * strconv.ParseInt / ParseUint. base 0 reads the Go literal prefixes (0x, 0o,
 * 0b, a leading 0 for octal) and allows underscores, as pflag's int flags do.
 */
export function goParseInt(s: string, base: number, bits: number, signed: boolean): bigint {
  const fn = signed ? "ParseInt" : "ParseUint";
  const bad = (why: string) => new Error(`strconv.${fn}: parsing "${s}": ${why}`);
  let body = s;
  let neg = false;
  if (signed && (body[0] === "+" || body[0] === "-")) {
    neg = body[0] === "-";
    body = body.slice(1);
  }
  let b = base;
  if (base === 0) {
    b = 10;
    if (body.length >= 2 && body[0] === "0") {
      const p = body[1]!.toLowerCase();
      if (p === "x" || p === "o" || p === "b") {
        b = p === "x" ? 16 : p === "o" ? 8 : 2;
        body = body.slice(2);
      } else {
        b = 8;
        body = body.slice(1);
      }
    }
  }
  if (base === 0 && s.includes("_") && !underscoreOK(s)) throw bad("invalid syntax");
  const v = digitsValue(body, b, base === 0);
  if (v === undefined) throw bad("invalid syntax");
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const value = neg ? -v : v;
  if (value > max || (signed && value < -max - 1n)) throw bad("value out of range");
  return value;
}

/** strconv.ParseFloat: decimal and hexadecimal (0x1.8p3) syntax, with Go's underscores. */
function goParseFloat(s: string): number {
  const hex = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?[0-9_]+)$/.exec(s);
  if (hex && (hex[2] !== "" || (hex[3] ?? "") !== "") && underscoreOK(s)) {
    const [i, f] = [hex[2]!.replace(/_/g, ""), (hex[3] ?? "").replace(/_/g, "")];
    const v = Number(digitsValue(i + f, 16, false)!) * 2 ** (Number(hex[4]!.replace(/_/g, "")) - 4 * f.length);
    return hex[1] === "-" ? -v : v;
  }
  if (!/^[+-]?(\d[\d_]*(\.[\d_]*)?|\.\d[\d_]*)([eE][+-]?\d[\d_]*)?$/.test(s) || (s.includes("_") && !underscoreOK(s))) {
    throw new Error(`strconv.ParseFloat: parsing "${s}": invalid syntax`);
  }
  return Number(s.replace(/_/g, ""));
}

const UNITS: Record<string, bigint> = { ns: 1n, us: 1000n, "\u00b5s": 1000n, "\u03bcs": 1000n, ms: 1000000n, s: 1000000000n, m: 60000000000n, h: 3600000000000n };
const I64 = 1n << 63n;

/** time.ParseDuration, in nanoseconds (exactly Go's arithmetic, float64 fractions included). */
export function parseDuration(orig: string): bigint {
  const invalid = () => new Error(`time: invalid duration "${orig}"`);
  let s = orig;
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let d = 0n;
  while (s !== "") {
    if (!(s[0] === "." || (s[0]! >= "0" && s[0]! <= "9"))) throw invalid();
    let m = /^\d*/.exec(s)![0];
    const pre = m.length > 0;
    let v = 0n;
    for (const c of m) {
      v = v * 10n + BigInt(c);
      if (v > I64) throw invalid();
    }
    s = s.slice(m.length);
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === ".") {
      s = s.slice(1);
      m = /^\d*/.exec(s)![0];
      post = m.length > 0;
      let overflow = false;
      for (const c of m) {
        if (overflow) continue;
        if (f > (I64 - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(c);
        if (y > I64) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      s = s.slice(m.length);
    }
    if (!pre && !post) throw invalid();
    const u = /^[^.0-9]*/.exec(s)![0];
    if (u === "") throw new Error(`time: missing unit in duration "${orig}"`);
    s = s.slice(u.length);
    const unit = UNITS[u];
    if (unit === undefined) throw new Error(`time: unknown unit "${u}" in duration "${orig}"`);
    if (v > I64 / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > I64) throw invalid();
    }
    d += v;
    if (d > I64) throw invalid();
  }
  if (neg) return -d;
  if (d > I64 - 1n) throw invalid();
  return d;
}

/** go-units RAMInBytes: 512, 64k, 1.5g, 1GB, "2 MiB" (binary multiples whatever the spelling). */
export function ramInBytes(sizeStr: string): number {
  let sep = -1;
  for (let i = sizeStr.length - 1; i >= 0; i--) {
    if ("01234567890. ".includes(sizeStr[i]!)) {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw new Error(`invalid size: '${sizeStr}'`);
  const num = sizeStr[sep] === " " ? sizeStr.slice(0, sep) : sizeStr.slice(0, sep + 1);
  let sfx = sizeStr.slice(sep + 1);
  let size = goParseFloat(num);
  if (size < 0) throw new Error(`invalid size: '${sizeStr}'`);
  if (sfx !== "") {
    const badSuffix = new Error(`invalid suffix: '${sfx.length > 3 ? sfx : sfx.toLowerCase()}'`);
    if (sfx.length > 3) throw badSuffix;
    sfx = sfx.toLowerCase();
    if (sfx[0] === "b") {
      if (sfx.length > 1) throw badSuffix;
    } else {
      const mul = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[sfx[0]!];
      if (mul === undefined) throw badSuffix;
      size *= mul;
      if ((sfx.length === 2 && sfx[1] !== "b") || (sfx.length === 3 && sfx.slice(1) !== "ib")) throw badSuffix;
    }
  }
  if (!Number.isFinite(size) || size > Number.MAX_SAFE_INTEGER) throw new Error(`size '${sizeStr}' is too large`);
  return Math.trunc(size);
}

/** big.Int.SetString(s, 0): sign, Go prefixes (0 = octal), underscores. */
function bigIntLiteral(s: string): bigint | undefined {
  try {
    return goParseInt(s, 0, 4096, true);
  } catch {
    return undefined;
  }
}

/** opts.ParseCPUs: a rational number of CPUs ("1.5", "3/2", "2e-1") in nano CPUs. */
export function parseCPUs(value: string): number {
  const notRational = new Error(`failed to parse ${value} as a rational number`);
  let num: bigint;
  let den: bigint;
  const slash = value.indexOf("/");
  if (slash >= 0) {
    const a = bigIntLiteral(value.slice(0, slash));
    const bText = value.slice(slash + 1);
    const b = /^[+-]/.test(bText) ? undefined : bigIntLiteral(bText);
    if (a === undefined || b === undefined || b === 0n) throw notRational;
    [num, den] = [a, b];
  } else {
    // big.Rat's floating-point form: a mantissa in base 10 (or 0x, 0o, 0b), a
    // radix point, then a decimal (e) or binary (p) exponent
    const prefix = /^[+-]?0([xXoObB])/.exec(value)?.[1]?.toLowerCase();
    const base = prefix === "x" ? 16 : prefix === "o" ? 8 : prefix === "b" ? 2 : 10;
    const digit = { 16: "[0-9a-fA-F_]", 10: "[0-9_]", 8: "[0-7_]", 2: "[01_]" }[base];
    const re = new RegExp(`^([+-]?)(?:0[xXoObB])?(${digit}*)(?:\\.(${digit}*))?(?:([${base === 16 ? "pP" : "eEpP"}])([+-]?[0-9_]+))?$`);
    const m = re.exec(value);
    if (!m || (value.includes("_") && !underscoreOK(value))) throw notRational;
    const [intDigits, fracDigits] = [m[2]!.replace(/_/g, ""), (m[3] ?? "").replace(/_/g, "")];
    if (intDigits === "" && fracDigits === "") throw notRational;
    const mantissa = digitsValue(intDigits + fracDigits, base, false)!;
    num = mantissa * (m[1] === "-" ? -1n : 1n);
    den = BigInt(base) ** BigInt(fracDigits.length);
    const exp = m[5] === undefined ? 0 : Number(m[5].replace(/_/g, ""));
    if (Math.abs(exp) > 400) throw notRational;
    const ebase = m[4] === undefined || "eE".includes(m[4]) ? 10n : 2n;
    if (exp >= 0) num *= ebase ** BigInt(exp);
    else den *= ebase ** BigInt(-exp);
  }
  const nano = num * 1000000000n;
  if (nano % den !== 0n) throw new Error("value is too precise");
  return exactNumber(nano / den, "--cpus");
}

// ---- IP addresses (net.ParseIP, net.IP.String) -------------------------------

function parseIPv4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** The 16 bytes of an IP address as net.ParseIP reads it (no zone), or undefined. */
export function parseIP(s: string): number[] | undefined {
  const v4 = parseIPv4(s);
  if (v4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4];
  if (!s.includes(":") || s.includes("%")) return undefined;
  let head = s;
  let tailV4: number[] | undefined;
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    tailV4 = parseIPv4(s.slice(lastColon + 1));
    if (!tailV4) return undefined;
    head = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  if (!left || !right) return undefined;
  const fill = 8 - left.length - right.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const words = [...left, ...Array<number>(fill).fill(0), ...right];
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tailV4) bytes.splice(12, 4, ...tailV4);
  return bytes;
}

/** net.IP.String: dotted quad for IPv4 (and IPv4-mapped), RFC 5952 for IPv6. */
export function formatIP(b: number[]): string {
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.slice(12).join(".");
  const w = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i >= 2 && j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  return best < 0 ? hex(w) : `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

// ---- encoding/csv (one record), path.Clean ------------------------------------

/** The first record of a CSV text, as Go's encoding/csv Reader.Read returns it. */
export function csvRecord(text: string): string[] {
  const lines = text.replace(/\r\n/g, "\n");
  let i = 0;
  while (lines[i] === "\n") i++; // encoding/csv skips empty lines
  if (i >= lines.length) throw new Error("EOF");
  const fields: string[] = [];
  for (;;) {
    let field = "";
    if (lines[i] === '"') {
      i++;
      for (;;) {
        if (i >= lines.length) throw new Error(`extraneous or missing " in quoted-field`);
        const c = lines[i]!;
        if (c === '"') {
          if (lines[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < lines.length && lines[i] !== "," && lines[i] !== "\n") throw new Error(`extraneous or missing " in quoted-field`);
    } else {
      while (i < lines.length && lines[i] !== "," && lines[i] !== "\n") {
        if (lines[i] === '"') throw new Error(`bare " in non-quoted-field`);
        field += lines[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= lines.length || lines[i] === "\n") return fields;
    i++; // the comma
  }
}

/** path.Clean */
export function pathClean(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

/** strings.Cut */
export function cut(s: string, sep: string): [string, string, boolean] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, "", false] : [s.slice(0, i), s.slice(i + sep.length), true];
}

/**
 * encoding/json.Compact: the same JSON text without insignificant whitespace
 * (member order, number spelling and escapes kept as written).
 */
export function compactJSON(text: string): string {
  JSON.parse(text); // the same syntax errors Compact reports, in JavaScript's words
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!" \t\n\r".includes(c)) out += c;
  }
  return out;
}
