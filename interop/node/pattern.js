// The text P of the interop script (see ../doc.go): 49152 letters from
// x0 = 1, x(i+1) = (75 x(i) + 74) mod 65537, letter i = 'a' + x(i+1) mod 26.
"use strict";

function pattern() {
  const p = Buffer.alloc(3 * 16384);
  let x = 1;
  for (let i = 0; i < p.length; i++) {
    x = (75 * x + 74) % 65537;
    p[i] = 97 + (x % 26);
  }
  return p;
}

module.exports = { pattern };
