"""The text P of the interop script (see ../doc.go): 49152 letters from
x0 = 1, x(i+1) = (75 x(i) + 74) mod 65537, letter i = 'a' + x(i+1) mod 26."""


def pattern():
    out = []
    x = 1
    for _ in range(3 * 16384):
        x = (75 * x + 74) % 65537
        out.append(chr(97 + x % 26))
    return "".join(out)
