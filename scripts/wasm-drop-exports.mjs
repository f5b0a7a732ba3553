// Removes the exports of wasm-bindgen classes from a wasm module, so that wasm-opt drops the code
// only they kept alive.
//
//   node scripts/wasm-drop-exports.mjs <module.wasm> <its wasm-bindgen JS> <Class name prefix>...
//
// Why (scripts/build.sh, issue 16): server_fn's browser client depends on wasm-streams, whose
// `#[wasm_bindgen]` classes (IntoUnderlyingSource, IntoUnderlyingByteSource, IntoUnderlyingSink:
// Rust streams handed to JavaScript as ReadableStream/WritableStream sources) are exported by
// every module that links it. Exports are roots, so their methods and everything those reach
// were shipped although the app streams nothing.
//
// Refuses (exit 1) when the JavaScript glue can hand such an object to JavaScript
// (`<Class>.__wrap`, which wasm-bindgen writes into the import that a constructor call, e.g.
// wasm-streams' `new_with_into_underlying_source`, goes through): its methods would call the
// dropped exports. Run before wasm-opt, so it refuses when that path exists at all.
import { readFileSync, writeFileSync } from "node:fs";

const [file, glue, ...classes] = process.argv.slice(2);
if (!file || !glue || classes.length === 0) {
  console.error("usage: wasm-drop-exports.mjs <module.wasm> <glue.js> <Class name prefix>...");
  process.exit(2);
}

const wraps = readFileSync(glue, "utf8").match(new RegExp(`\\b(${classes.join("|")})\\w*\\.__wrap\\b`, "g"));
if (wraps) {
  console.error(`${glue} can hand to JavaScript what the dropped exports serve: ${[...new Set(wraps)].join(", ")}`);
  process.exit(1);
}
// wasm-bindgen names a class's exports after it in lower case: `<class>_<method>`,
// `__wbg_<class>_free`.
const prefixes = classes.map((name) => name.toLowerCase());

const bytes = readFileSync(file);
if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error(`${file}: not a wasm module`);

function leb(at) {
  let value = 0, shift = 0, byte;
  do {
    byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, at];
}
function encodeLeb(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return Buffer.from(out);
}
function name(at) {
  const [length, start] = leb(at);
  return [bytes.toString("utf8", start, start + length), start + length];
}

// Sections: [id, start of contents, end, start of the section].
const sections = [];
for (let at = 8; at < bytes.length; ) {
  const id = bytes[at];
  const [size, start] = leb(at + 1);
  sections.push([id, start, start + size, at]);
  at = start + size;
}
const matches = (text) => prefixes.some((prefix) => text.startsWith(prefix));

const exports = sections.find(([id]) => id === 7);
if (!exports) throw new Error(`${file}: no export section`);
let [count, at] = leb(exports[1]);
const kept = [];
let dropped = 0;
for (; count > 0; count--) {
  const entryStart = at;
  let field;
  [field, at] = name(at);
  at++; // kind
  [, at] = leb(at); // index
  const bare = field.replace(/^__wbg_/, "");
  if (matches(bare)) dropped++;
  else kept.push(bytes.subarray(entryStart, at));
}
if (dropped === 0) throw new Error(`${file}: no export starts with ${prefixes.join(", ")}`);
const contents = Buffer.concat([encodeLeb(kept.length), ...kept]);
const section = Buffer.concat([Buffer.from([7]), encodeLeb(contents.length), contents]);
writeFileSync(
  file,
  Buffer.concat([bytes.subarray(0, exports[3]), section, bytes.subarray(exports[2])]),
);
console.error(`${file}: ${dropped} exports dropped`);
