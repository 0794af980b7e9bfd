#!/usr/bin/env python3
"""Writes a tiny `dsc compile`-style folder for the stand-in top (sim/test/AcceleratorTop.v):
four copy records in three "layers", in the sim.txt format of docs/control.md. The expected bytes
are computed here from the copy-pass semantics, independently of the harness and the RTL.

  make-case.py DIR [--stream-bytes 16|32] [--corrupt-layer K] [--corrupt-expected] [--bad-magic] [--fault N]
"""
import argparse
import os
import random
import struct

def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h

def record(seq, layer, rows, cols, row0, col0, img_rows, img_cols, in_addr, in_pix, in_row, in_chunk, fill,
           out_chunk, out_addr, out_pix, out_row, magic=0xC5, fault=0):
    w = [0] * 32
    w[0] = 2 | (magic << 24)                      # op 2: copy pass
    w[1] = layer
    w[2] = rows | cols << 16
    w[3] = (row0 & 0xFFFF) | (col0 & 0xFFFF) << 16
    w[4] = img_rows | img_cols << 16
    w[5], w[6], w[7] = in_addr, in_pix, in_row
    w[8] = in_chunk | (fill & 0xFF) << 8 | out_chunk << 16
    w[12], w[13], w[14] = out_addr, out_pix, out_row
    w[15] = rows | cols << 16                     # copies: output shape = region shape
    w[25] = fault                                 # stand-in only: protocol fault to inject
    w[30] = seq
    body = struct.pack('<31I', *w[:31])[:124]
    w[31] = fnv1a(body)
    return struct.pack('<32I', *w)

def copy(mem, rows, cols, in_addr, in_pix, in_row, in_chunk, fill, out_chunk, out_addr, out_pix, out_row):
    for r in range(rows):
        for c in range(cols):
            src = in_addr + r * in_row + c * in_pix
            dst = out_addr + r * out_row + c * out_pix
            for b in range(out_chunk):
                mem[dst + b] = mem[src + b] if b < in_chunk else fill & 0xFF

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir')
    ap.add_argument('--stream-bytes', type=int, default=16)
    ap.add_argument('--corrupt-layer', type=int)
    ap.add_argument('--corrupt-expected', action='store_true')
    ap.add_argument('--bad-magic', action='store_true')
    ap.add_argument('--fault', type=int, default=0, help='protocol fault the stand-in injects in record 1')
    ap.add_argument('--repeat', type=int, default=1, help='run the program this many times over')
    ap.add_argument('--with-fill', action='store_true',
                    help='add a copy whose region overhangs the image by one position on every side (fill beats; not for the stand-in)')
    a = ap.parse_args()
    B = a.stream_bytes
    rng = random.Random(7)
    base, inp, mid, pad, out = 0x8000, 0x1000, 0x2000, 0x3000, 0x4000
    image = bytes(rng.randrange(256) for _ in range(6 * 40))       # 6 × 5 pixels, 8-byte pitch, 7 used
    mem = bytearray(0x5000)
    mem[inp:inp + len(image)] = image
    recs = []
    # Layer 3: rows 0-2 and 3-5 of the input into a compact 6 × 5 × 7 tensor (row0 = 3 in the second).
    for seq, r0 in enumerate((0, 3)):
        recs.append(record(seq, 3, 3, 5, r0, 0, 6, 5, inp, 8, 40, 7, 0, 7, mid + r0 * 35, 7, 35, fault=a.fault if seq == 1 else 0))
        copy(mem, 3, 5, inp + r0 * 40, 8, 40, 7, 0, 7, mid + r0 * 35, 7, 35)
    # Layer 5: widen to 9 bytes per position; bytes 7 and 8 read as fillValue -3.
    recs.append(record(2, 5, 6, 5, 0, 0, 6, 5, mid, 7, 35, 7, -3, 9, pad, 9, 45, magic=0 if a.bad_magic else 0xC5))
    copy(mem, 6, 5, mid, 7, 35, 7, -3, 9, pad, 9, 45)
    # Layer 7: whole stream beats (chunk B) of the padded tensor, 5 × 3 positions.
    n = 240 // B
    recs.append(record(3, 7, 1, n, 0, 0, 1, n, pad, B, 0, B, 0, B, out, B, 0))
    copy(mem, 1, n, pad, B, 0, B, 0, B, out, B, 0)
    layers = [(3, 'COPY', 1000, 1, mid, 210), (5, 'COPY_PAD', 2000, 2, pad, 270), (7, 'COPY_WIDE', 3000, 3, out, 240)]
    if a.with_fill:
        # Layer 9: the compact 6 × 5 × 7 tensor framed by fill: region 8 × 7 from (-1, -1), 8 bytes out.
        framed, fill = 0x4800, -128
        recs.append(record(4, 9, 8, 7, -1, -1, 6, 5, mid, 7, 35, 7, fill, 8, framed, 8, 56))
        for r in range(8):
            for c in range(7):
                dst = framed + r * 56 + c * 8
                inside = 0 <= r - 1 < 6 and 0 <= c - 1 < 5
                for b in range(8):
                    mem[dst + b] = mem[mid + (r - 1) * 35 + (c - 1) * 7 + b] if inside and b < 7 else fill & 0xFF
        layers.append((9, 'COPY_FRAME', 0, 4, framed, 448))

    # --repeat N runs the program N times over (copies are idempotent), for speed measurements;
    # the layer lines name the last repetition's records.
    n_recs = len(recs)
    recs = recs * a.repeat
    layers = [(i, op, macs, last + n_recs * (a.repeat - 1), addr, length) for (i, op, macs, last, addr, length) in layers]

    os.makedirs(os.path.join(a.dir, 'layers'), exist_ok=True)
    image_file = bytearray(max(0x4000, base + 128 * len(recs)))   # records in place; activations zero until written
    for i, r in enumerate(recs):
        image_file[base + 128 * i: base + 128 * (i + 1)] = r
    open(os.path.join(a.dir, 'memory.bin'), 'wb').write(image_file)
    open(os.path.join(a.dir, 'input.bin'), 'wb').write(image)
    lines = [f'stream_bytes {B}', 'clock_mhz 150', 'multipliers 144  # 9 x 4 x 4', 'memory memory.bin',
             f'records 0x{base:x} {len(recs)}', f'input input.bin 0x{inp:x}',
             f'output device_output.bin {out} 240 expected_device.bin']
    for k, (index, op, macs, last, addr, length) in enumerate(layers):
        data = bytearray(mem[addr:addr + length])
        if a.corrupt_layer == index:
            data[17] ^= 0x40
        open(os.path.join(a.dir, 'layers', f'{index}.bin'), 'wb').write(data)
        lines.append(f'layer {index} {op} {macs} {last} {addr} {length} layers/{index}.bin')
    expected = bytearray(mem[out:out + 240])
    if a.corrupt_expected:
        expected[100] ^= 0x01
    open(os.path.join(a.dir, 'expected_device.bin'), 'wb').write(expected)
    open(os.path.join(a.dir, 'sim.txt'), 'w').write('# written by sim/test/make-case.py\n' + '\n'.join(lines) + '\n')

main()
