;; Training kernels in WebAssembly SIMD. The tfjs kernels (adam, maxPoolGrad2x2, sumRows) run
;; directly on tfjs-backend-wasm's heap (the memory is imported from it; every pointer is a byte
;; offset into that heap); the fused Dense step (dense-step.ts) runs the rest on a memory of its
;; own, shared with its helper threads.
;; JavaScript does these at ~5–7 ns per element; here they take well under 1 ns.
;;
;; Rebuild the embedded bytes after editing (needs Debian's `wabt`):
;;   wat2wasm simd-kernels.wat -o /dev/stdout | base64 -w0          → SIMD_KERNELS_WASM
;; and, for the threads, the same text with the import below changed to
;; (memory 1 65536 shared), compiled with `wat2wasm --enable-threads`  → SIMD_KERNELS_SHARED_WASM
;; (both in simd-kernels.ts; conv-pool.test.ts checks them where wat2wasm is installed).
(module
  (import "env" "memory" (memory 0))

  ;; One Adam step, in tfjs's own order of float32 operations, so the result matches the cpu
  ;; backend's Adam bit for bit:
  ;;   m' = m·β₁ + g·(1−β₁);  v' = v·β₂ + (g·g)·(1−β₂)
  ;;   w' = ((m'/c₁) / (√(v'/c₂) + ε))·(−lr) + w
  (func (export "adam")
    (param $w i32) (param $g i32) (param $m i32) (param $v i32)
    (param $ow i32) (param $om i32) (param $ov i32) (param $n i32)
    (param $b1 f32) (param $b2 f32) (param $ob1 f32) (param $ob2 f32)
    (param $c1 f32) (param $c2 f32) (param $eps f32) (param $neglr f32)
    (local $i i32) (local $end i32) (local $off i32)
    (local $xb1 v128) (local $xb2 v128) (local $xob1 v128) (local $xob2 v128)
    (local $xc1 v128) (local $xc2 v128) (local $xeps v128) (local $xlr v128)
    (local $xg v128) (local $xm v128) (local $xv v128)
    (local $sg f32) (local $sm f32) (local $sv f32)
    (local.set $xb1 (f32x4.splat (local.get $b1)))
    (local.set $xb2 (f32x4.splat (local.get $b2)))
    (local.set $xob1 (f32x4.splat (local.get $ob1)))
    (local.set $xob2 (f32x4.splat (local.get $ob2)))
    (local.set $xc1 (f32x4.splat (local.get $c1)))
    (local.set $xc2 (f32x4.splat (local.get $c2)))
    (local.set $xeps (f32x4.splat (local.get $eps)))
    (local.set $xlr (f32x4.splat (local.get $neglr)))
    (local.set $end (i32.and (local.get $n) (i32.const -4)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $off (i32.shl (local.get $i) (i32.const 2)))
        (local.set $xg (v128.load align=4 (i32.add (local.get $g) (local.get $off))))
        (local.set $xm
          (f32x4.add
            (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $off))) (local.get $xb1))
            (f32x4.mul (local.get $xg) (local.get $xob1))))
        (local.set $xv
          (f32x4.add
            (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $off))) (local.get $xb2))
            (f32x4.mul (f32x4.mul (local.get $xg) (local.get $xg)) (local.get $xob2))))
        (v128.store align=4 (i32.add (local.get $ow) (local.get $off))
          (f32x4.add
            (f32x4.mul
              (f32x4.div
                (f32x4.div (local.get $xm) (local.get $xc1))
                (f32x4.add (f32x4.sqrt (f32x4.div (local.get $xv) (local.get $xc2))) (local.get $xeps)))
              (local.get $xlr))
            (v128.load align=4 (i32.add (local.get $w) (local.get $off)))))
        (v128.store align=4 (i32.add (local.get $om) (local.get $off)) (local.get $xm))
        (v128.store align=4 (i32.add (local.get $ov) (local.get $off)) (local.get $xv))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $off (i32.shl (local.get $i) (i32.const 2)))
        (local.set $sg (f32.load (i32.add (local.get $g) (local.get $off))))
        (local.set $sm
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $off))) (local.get $b1))
            (f32.mul (local.get $sg) (local.get $ob1))))
        (local.set $sv
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $off))) (local.get $b2))
            (f32.mul (f32.mul (local.get $sg) (local.get $sg)) (local.get $ob2))))
        (f32.store (i32.add (local.get $ow) (local.get $off))
          (f32.add
            (f32.mul
              (f32.div
                (f32.div (local.get $sm) (local.get $c1))
                (f32.add (f32.sqrt (f32.div (local.get $sv) (local.get $c2))) (local.get $eps)))
              (local.get $neglr))
            (f32.load (i32.add (local.get $w) (local.get $off)))))
        (f32.store (i32.add (local.get $om) (local.get $off)) (local.get $sm))
        (f32.store (i32.add (local.get $ov) (local.get $off)) (local.get $sv))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; Max-pool gradient for 2×2 windows with stride 2, every window inside the image, channels a
  ;; multiple of 4 (NHWC). Each window's gradient goes to its first strict maximum in row-major
  ;; order; NaN never wins, a window with no winner gets none (as in the cpu backend). Elements
  ;; outside every window (an odd last row or column) are not written: the caller zeroes them.
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $batch i32) (param $inH i32) (param $inW i32) (param $c i32) (param $outH i32) (param $outW i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $ch i32)
    (local $rowBytes i32) (local $cBytes i32) (local $p i32) (local $rowBase i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $best v128) (local $k v128) (local $mask v128) (local $grad v128)
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $inW) (local.get $cBytes)))
    (block $bDone
      (loop $bLoop
        (br_if $bDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $oh (i32.const 0))
        (block $hDone
          (loop $hLoop
            (br_if $hDone (i32.ge_u (local.get $oh) (local.get $outH)))
            ;; byte offset of input row 2·oh of image b
            (local.set $rowBase
              (i32.mul
                (i32.add (i32.mul (local.get $b) (local.get $inH)) (i32.shl (local.get $oh) (i32.const 1)))
                (local.get $rowBytes)))
            (local.set $ow (i32.const 0))
            (block $wDone
              (loop $wLoop
                (br_if $wDone (i32.ge_u (local.get $ow) (local.get $outW)))
                (local.set $ch (i32.const 0))
                (block $cDone
                  (loop $cLoop
                    (br_if $cDone (i32.ge_u (local.get $ch) (local.get $cBytes)))
                    ;; p: byte offset of the window's top-left element, this channel group
                    (local.set $p
                      (i32.add (local.get $rowBase)
                        (i32.add (i32.mul (i32.shl (local.get $ow) (i32.const 1)) (local.get $cBytes)) (local.get $ch))))
                    (local.set $v0 (v128.load align=4 (i32.add (local.get $x) (local.get $p))))
                    (local.set $v1 (v128.load align=4 (i32.add (local.get $x) (i32.add (local.get $p) (local.get $cBytes)))))
                    (local.set $v2 (v128.load align=4 (i32.add (local.get $x) (i32.add (local.get $p) (local.get $rowBytes)))))
                    (local.set $v3 (v128.load align=4
                      (i32.add (local.get $x) (i32.add (local.get $p) (i32.add (local.get $rowBytes) (local.get $cBytes))))))
                    ;; candidate 0 only if it is a number above −∞
                    (local.set $mask (f32x4.gt (local.get $v0) (v128.const f32x4 -inf -inf -inf -inf)))
                    (local.set $best (v128.bitselect (local.get $v0) (v128.const f32x4 -inf -inf -inf -inf) (local.get $mask)))
                    (local.set $k (v128.bitselect (v128.const i32x4 0 0 0 0) (v128.const i32x4 -1 -1 -1 -1) (local.get $mask)))
                    (local.set $mask (f32x4.gt (local.get $v1) (local.get $best)))
                    (local.set $best (v128.bitselect (local.get $v1) (local.get $best) (local.get $mask)))
                    (local.set $k (v128.bitselect (v128.const i32x4 1 1 1 1) (local.get $k) (local.get $mask)))
                    (local.set $mask (f32x4.gt (local.get $v2) (local.get $best)))
                    (local.set $best (v128.bitselect (local.get $v2) (local.get $best) (local.get $mask)))
                    (local.set $k (v128.bitselect (v128.const i32x4 2 2 2 2) (local.get $k) (local.get $mask)))
                    (local.set $mask (f32x4.gt (local.get $v3) (local.get $best)))
                    (local.set $k (v128.bitselect (v128.const i32x4 3 3 3 3) (local.get $k) (local.get $mask)))
                    (local.set $grad (v128.load align=4 (local.get $dy)))
                    (v128.store align=4 (i32.add (local.get $dx) (local.get $p))
                      (v128.and (local.get $grad) (i32x4.eq (local.get $k) (v128.const i32x4 0 0 0 0))))
                    (v128.store align=4 (i32.add (local.get $dx) (i32.add (local.get $p) (local.get $cBytes)))
                      (v128.and (local.get $grad) (i32x4.eq (local.get $k) (v128.const i32x4 1 1 1 1))))
                    (v128.store align=4 (i32.add (local.get $dx) (i32.add (local.get $p) (local.get $rowBytes)))
                      (v128.and (local.get $grad) (i32x4.eq (local.get $k) (v128.const i32x4 2 2 2 2))))
                    (v128.store align=4
                      (i32.add (local.get $dx) (i32.add (local.get $p) (i32.add (local.get $rowBytes) (local.get $cBytes))))
                      (v128.and (local.get $grad) (i32x4.eq (local.get $k) (v128.const i32x4 3 3 3 3))))
                    (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
                    (local.set $ch (i32.add (local.get $ch) (i32.const 16)))
                    (br $cLoop)))
                (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                (br $wLoop)))
            (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
            (br $hLoop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bLoop))))
;; Column sums of a rows × cols float32 matrix (cols a multiple of 4), i.e. a sum over every
  ;; axis but the last, as in a bias gradient. Accumulates in float64, row by row, as the cpu
  ;; backend does, then rounds once: the same result bit for bit. `scratch` holds cols float64.
  (func (export "sumRows")
    (param $x i32) (param $out i32) (param $scratch i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $cBytes i32) (local $v v128) (local $acc i32)
    (local.set $cBytes (i32.shl (local.get $cols) (i32.const 2)))
    (memory.fill (local.get $scratch) (i32.const 0) (i32.shl (local.get $cols) (i32.const 3)))
    (block $rDone
      (loop $rLoop
        (br_if $rDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $cDone
          (loop $cLoop
            (br_if $cDone (i32.ge_u (local.get $c) (local.get $cBytes)))
            (local.set $v (v128.load align=4 (i32.add (local.get $x) (local.get $c))))
            ;; float64 accumulators of columns c/4 … c/4+3 start at scratch + 2·c bytes
            (local.set $acc (i32.add (local.get $scratch) (i32.shl (local.get $c) (i32.const 1))))
            (v128.store align=8 (local.get $acc)
              (f64x2.add (v128.load align=8 (local.get $acc)) (f64x2.promote_low_f32x4 (local.get $v))))
            (v128.store align=8 (i32.add (local.get $acc) (i32.const 16))
              (f64x2.add
                (v128.load align=8 (i32.add (local.get $acc) (i32.const 16)))
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $cLoop)))
        (local.set $x (i32.add (local.get $x) (local.get $cBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rLoop)))
    (local.set $c (i32.const 0))
    (block $oDone
      (loop $oLoop
        (br_if $oDone (i32.ge_u (local.get $c) (local.get $cols)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
          (f32.demote_f64 (f64.load (i32.add (local.get $scratch) (i32.shl (local.get $c) (i32.const 3))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $oLoop))))

  ;; ---- The fused Dense training step (dense-step.ts) -------------------------------------
  ;; These run on the trainer's own memory: activations, gradients and weights are float32
  ;; matrices whose rows are padded to a multiple of 4 floats ("stride"), padding kept at 0.
  ;; Inputs are used as sparse lists: Fashion-MNIST images are about half zeros, ReLU outputs
  ;; too, and a zero contributes nothing to a product or to a weight gradient.
  ;; The products are register-tiled: the forward product takes the batch two rows at a time
  ;; (each block of W loaded serves both), the weight gradient two weight rows at a time (each
  ;; block of dz loaded serves both). Tiles list the columns (rows) where either member is
  ;; nonzero, so the other adds an exact 0·w: each sum keeps its terms and their order.

  ;; The inputs of `rows` rows (the first `cols` of each `stride`: floats, or bytes scaled by
  ;; 1/255 when bytes ≠ 0, `stride` then in bytes) as tiles of 2 rows: for tile t (rows 2t and
  ;; 2t+1) the columns where either row is nonzero (NaN counts as nonzero), in increasing
  ;; order: the column (i32) at idx + 4·(t·cols + j), the two rows' values at
  ;; val + 8·(t·cols + j) (0 for a row past `rows`), how many at count + 4·t. Every value also
  ;; goes to the transposed copy xt (column k's rows at xt + 4·(k·cap + r)), for columnPairs.
  (func (export "sparseTiles")
    (param $x i32) (param $rows i32) (param $cols i32) (param $stride i32) (param $bytes i32)
    (param $idx i32) (param $val i32) (param $count i32) (param $xt i32) (param $cap i32)
    (local $t i32) (local $tiles i32) (local $k i32) (local $n i32) (local $list i32) (local $row i32) (local $rowBytes i32) (local $at i32)
    (local $vec v128) (local $capBytes i32) (local $tp i32)
    (local $p0 i32) (local $ok0 i32) (local $b0 i32) (local $v0 f32) (local $p1 i32) (local $ok1 i32) (local $b1 i32) (local $v1 f32)
    (local.set $rowBytes (select (local.get $stride) (i32.shl (local.get $stride) (i32.const 2)) (local.get $bytes)))
    (local.set $tiles (i32.div_u (i32.add (local.get $rows) (i32.const 1)) (i32.const 2)))
    (local.set $capBytes (i32.shl (local.get $cap) (i32.const 2)))
    (block $tDone
      (loop $tLoop
        (br_if $tDone (i32.ge_u (local.get $t) (local.get $tiles)))
        (local.set $row (i32.mul (local.get $t) (i32.const 2)))
        (local.set $list (i32.mul (local.get $t) (local.get $cols)))
        ;; a row past `rows` reads row 2t (always there) and is then replaced by 0
        (local.set $ok0 (i32.lt_u (i32.add (local.get $row) (i32.const 0)) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $x) (i32.mul (select (i32.add (local.get $row) (i32.const 0)) (local.get $row) (local.get $ok0)) (local.get $rowBytes))))
        (local.set $ok1 (i32.lt_u (i32.add (local.get $row) (i32.const 1)) (local.get $rows)))
        (local.set $p1 (i32.add (local.get $x) (i32.mul (select (i32.add (local.get $row) (i32.const 1)) (local.get $row) (local.get $ok1)) (local.get $rowBytes))))
        (local.set $tp (i32.add (local.get $xt) (i32.shl (local.get $row) (i32.const 2))))
        (local.set $n (i32.const 0))
        (local.set $k (i32.const 0))
        (if (local.get $bytes)
          (then
            (block $kDone
              (loop $kLoop
                (br_if $kDone (i32.ge_u (local.get $k) (local.get $cols)))
                (local.set $b0 (select (i32.load8_u (i32.add (local.get $p0) (local.get $k))) (i32.const 0) (local.get $ok0)))
                (local.set $b1 (select (i32.load8_u (i32.add (local.get $p1) (local.get $k))) (i32.const 0) (local.get $ok1)))
                (local.set $at (i32.add (local.get $list) (local.get $n)))
                ;; written every time, kept only when a value is nonzero
                (i32.store (i32.add (local.get $idx) (i32.shl (local.get $at) (i32.const 2))) (local.get $k))
                ;; b / 255 lane by lane: the same float32 as the scalar division
                (local.set $vec
                  (f32x4.div
                    (f32x4.convert_i32x4_u
                      (i32x4.replace_lane 1 (i32x4.splat (local.get $b0)) (local.get $b1)))
                    (v128.const f32x4 255 255 255 255)))
                (v128.store64_lane align=4 0 (i32.add (local.get $val) (i32.shl (local.get $at) (i32.const 3))) (local.get $vec))
                ;; and into the transposed copy, at xt + 4·(k·cap + 2t)
                (v128.store64_lane align=4 0 (i32.add (local.get $tp) (i32.mul (local.get $k) (local.get $capBytes))) (local.get $vec))
                (local.set $n (i32.add (local.get $n) (i32.ne (i32.or (local.get $b0) (local.get $b1)) (i32.const 0))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kLoop))))
          (else
            (block $kDone
              (loop $kLoop
                (br_if $kDone (i32.ge_u (local.get $k) (local.get $cols)))
                (local.set $v0 (select (f32.load (i32.add (local.get $p0) (i32.shl (local.get $k) (i32.const 2)))) (f32.const 0) (local.get $ok0)))
                (local.set $v1 (select (f32.load (i32.add (local.get $p1) (i32.shl (local.get $k) (i32.const 2)))) (f32.const 0) (local.get $ok1)))
                (local.set $at (i32.add (local.get $list) (local.get $n)))
                (i32.store (i32.add (local.get $idx) (i32.shl (local.get $at) (i32.const 2))) (local.get $k))
                (local.set $at (i32.add (local.get $val) (i32.shl (local.get $at) (i32.const 3))))
                (f32.store offset=0 (local.get $at) (local.get $v0))
                (f32.store offset=4 (local.get $at) (local.get $v1))
                (local.set $at (i32.add (local.get $tp) (i32.mul (local.get $k) (local.get $capBytes))))
                (f32.store offset=0 (local.get $at) (local.get $v0))
                (f32.store offset=4 (local.get $at) (local.get $v1))
                (local.set $n (i32.add (local.get $n) (i32.or (f32.ne (local.get $v0) (f32.const 0)) (f32.ne (local.get $v1) (f32.const 0)))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kLoop)))))
        (i32.store (i32.add (local.get $count) (i32.shl (local.get $t) (i32.const 2))) (local.get $n))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tLoop))))

  ;; out = act(x·W + b) for `rows` rows given as sparseTiles' tiles (idx, val, count and out
  ;; start at the first tile's); W is (x's width) × stride, b and each out row `stride` floats.
  ;; act is ReLU when relu ≠ 0 (f32x4.max: NaN stays NaN), else the identity. 16 outputs of both
  ;; rows of a tile at a time in eight registers (then 4 at a time): each block of W loaded serves
  ;; two rows. Loading W (from L2: it is 400 KB for the first layer) is what the product waits
  ;; on; with two rows a tile computes ~1.3× the products of the rows' own nonzeros (images)
  ;; but loads W half as often. (Tiles of 4 rows × 8 outputs load it a quarter as often but
  ;; compute ~1.6×, and measured slower.)
  (func (export "denseForwardTiles")
    (param $idx i32) (param $val i32) (param $count i32) (param $rows i32) (param $cols i32)
    (param $w i32) (param $b i32) (param $out i32) (param $stride i32) (param $relu i32)
    (local $t i32) (local $tiles i32) (local $j i32) (local $n i32) (local $cb i32) (local $rowBytes i32) (local $wide i32)
    (local $il i32) (local $vl i32) (local $xv i32) (local $op i32) (local $live i32) (local $p i32) (local $s v128) (local $floor v128)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local $a0_0 v128) (local $a0_1 v128) (local $a0_2 v128) (local $a0_3 v128)
    (local $a1_0 v128) (local $a1_1 v128) (local $a1_2 v128) (local $a1_3 v128)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $wide (i32.sub (local.get $rowBytes) (i32.const 64)))
    (local.set $floor
      (select (v128.const i32x4 0 0 0 0) (v128.const f32x4 -inf -inf -inf -inf) (local.get $relu)))
    (local.set $tiles (i32.div_u (i32.add (local.get $rows) (i32.const 1)) (i32.const 2)))
    (block $tDone
      (loop $tLoop
        (br_if $tDone (i32.ge_u (local.get $t) (local.get $tiles)))
        (local.set $n (i32.load (i32.add (local.get $count) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $il (i32.add (local.get $idx) (i32.shl (i32.mul (local.get $t) (local.get $cols)) (i32.const 2))))
        (local.set $vl (i32.add (local.get $val) (i32.shl (i32.mul (local.get $t) (local.get $cols)) (i32.const 3))))
        (local.set $op (i32.add (local.get $out) (i32.mul (i32.mul (local.get $t) (i32.const 2)) (local.get $rowBytes))))
        (local.set $live (i32.sub (local.get $rows) (i32.mul (local.get $t) (i32.const 2))))
        (local.set $cb (i32.const 0))
        (block $wideDone
          (loop $wideLoop
            (br_if $wideDone (i32.gt_s (local.get $cb) (local.get $wide)))
            (local.set $a0_0 (v128.load offset=0 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $a0_1 (v128.load offset=16 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $a0_2 (v128.load offset=32 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $a0_3 (v128.load offset=48 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $a1_0 (v128.load offset=0 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $a1_1 (v128.load offset=16 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $a1_2 (v128.load offset=32 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $a1_3 (v128.load offset=48 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $j (i32.const 0))
            (local.set $xv (local.get $vl))
            (block $jDone
              (loop $jLoop
                (br_if $jDone (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $p (i32.add (i32.add (local.get $w) (local.get $cb))
                  (i32.mul (i32.load (i32.add (local.get $il) (i32.shl (local.get $j) (i32.const 2)))) (local.get $rowBytes))))
                (local.set $w0 (v128.load offset=0 align=4 (local.get $p)))
                (local.set $w1 (v128.load offset=16 align=4 (local.get $p)))
                (local.set $w2 (v128.load offset=32 align=4 (local.get $p)))
                (local.set $w3 (v128.load offset=48 align=4 (local.get $p)))
                (local.set $s (v128.load32_splat offset=0 (local.get $xv)))
                (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a0_1 (f32x4.add (local.get $a0_1) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $a0_2 (f32x4.add (local.get $a0_2) (f32x4.mul (local.get $s) (local.get $w2))))
                (local.set $a0_3 (f32x4.add (local.get $a0_3) (f32x4.mul (local.get $s) (local.get $w3))))
                (local.set $s (v128.load32_splat offset=4 (local.get $xv)))
                (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a1_1 (f32x4.add (local.get $a1_1) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $a1_2 (f32x4.add (local.get $a1_2) (f32x4.mul (local.get $s) (local.get $w2))))
                (local.set $a1_3 (f32x4.add (local.get $a1_3) (f32x4.mul (local.get $s) (local.get $w3))))
                (local.set $xv (i32.add (local.get $xv) (i32.const 8)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $jLoop)))
            (v128.store offset=0 align=4 (i32.add (local.get $op) (local.get $cb)) (f32x4.max (local.get $a0_0) (local.get $floor)))
            (v128.store offset=16 align=4 (i32.add (local.get $op) (local.get $cb)) (f32x4.max (local.get $a0_1) (local.get $floor)))
            (v128.store offset=32 align=4 (i32.add (local.get $op) (local.get $cb)) (f32x4.max (local.get $a0_2) (local.get $floor)))
            (v128.store offset=48 align=4 (i32.add (local.get $op) (local.get $cb)) (f32x4.max (local.get $a0_3) (local.get $floor)))
            (if (i32.gt_u (local.get $live) (i32.const 1))
              (then
                (v128.store offset=0 align=4 (i32.add (local.get $op) (i32.add (local.get $cb) (local.get $rowBytes))) (f32x4.max (local.get $a1_0) (local.get $floor)))
                (v128.store offset=16 align=4 (i32.add (local.get $op) (i32.add (local.get $cb) (local.get $rowBytes))) (f32x4.max (local.get $a1_1) (local.get $floor)))
                (v128.store offset=32 align=4 (i32.add (local.get $op) (i32.add (local.get $cb) (local.get $rowBytes))) (f32x4.max (local.get $a1_2) (local.get $floor)))
                (v128.store offset=48 align=4 (i32.add (local.get $op) (i32.add (local.get $cb) (local.get $rowBytes))) (f32x4.max (local.get $a1_3) (local.get $floor)))
              ))
            (local.set $cb (i32.add (local.get $cb) (i32.const 64)))
            (br $wideLoop)))
        (block $narrowDone
          (loop $narrowLoop
            (br_if $narrowDone (i32.ge_u (local.get $cb) (local.get $rowBytes)))
            (local.set $a0_0 (v128.load offset=0 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $a1_0 (v128.load offset=0 align=4 (i32.add (local.get $b) (local.get $cb))))
            (local.set $j (i32.const 0))
            (local.set $xv (local.get $vl))
            (block $jDone
              (loop $jLoop
                (br_if $jDone (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $p (i32.add (i32.add (local.get $w) (local.get $cb))
                  (i32.mul (i32.load (i32.add (local.get $il) (i32.shl (local.get $j) (i32.const 2)))) (local.get $rowBytes))))
                (local.set $w0 (v128.load offset=0 align=4 (local.get $p)))
                (local.set $s (v128.load32_splat offset=0 (local.get $xv)))
                (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $s (v128.load32_splat offset=4 (local.get $xv)))
                (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $xv (i32.add (local.get $xv) (i32.const 8)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $jLoop)))
            (v128.store offset=0 align=4 (i32.add (local.get $op) (local.get $cb)) (f32x4.max (local.get $a0_0) (local.get $floor)))
            (if (i32.gt_u (local.get $live) (i32.const 1))
              (then
                (v128.store offset=0 align=4 (i32.add (local.get $op) (i32.add (local.get $cb) (local.get $rowBytes))) (f32x4.max (local.get $a1_0) (local.get $floor)))
              ))
            (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
            (br $narrowLoop)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tLoop))))

  ;; The inputs of rows r0 ≤ r < r1 by pairs of columns (2q, 2q+1), pairs = ⌈cols/2⌉, from
  ;; sparseTiles' transposed copy xt (column `cols` of an odd width must read 0): the rows where
  ;; either column is nonzero, in increasing order, at lists + 4·(q·cap + j), their two values
  ;; at lists + 4·pairs·cap + 8·(q·cap + j), how many at lists + 12·pairs·cap + 4·q (one "pair
  ;; list set"; each thread fills its own from its own rows, read in order by
  ;; denseWeightGradientAdamPairs). Neighbouring pixels are mostly zero or nonzero together: a
  ;; pair lists ~1.1× the nonzeros of its two columns.
  (func (export "columnPairs")
    (param $xt i32) (param $r0 i32) (param $r1 i32) (param $cols i32) (param $cap i32) (param $lists i32)
    (local $q i32) (local $pairs i32) (local $r i32) (local $n i32) (local $a i32) (local $slot i32)
    (local $va f32) (local $vb f32) (local $pval i32) (local $pcount i32) (local $capBytes i32)
    (local.set $pairs (i32.shr_u (i32.add (local.get $cols) (i32.const 1)) (i32.const 1)))
    (local.set $capBytes (i32.shl (local.get $cap) (i32.const 2)))
    (local.set $pval (i32.add (local.get $lists) (i32.mul (local.get $pairs) (local.get $capBytes))))
    (local.set $pcount (i32.add (local.get $pval) (i32.shl (i32.mul (local.get $pairs) (local.get $capBytes)) (i32.const 1))))
    (block $qDone
      (loop $qLoop
        (br_if $qDone (i32.ge_u (local.get $q) (local.get $pairs)))
        (local.set $a (i32.add (local.get $xt) (i32.mul (i32.shl (local.get $q) (i32.const 1)) (local.get $capBytes))))
        (local.set $n (i32.const 0))
        (local.set $r (local.get $r0))
        (block $rDone
          (loop $rLoop
            (br_if $rDone (i32.ge_u (local.get $r) (local.get $r1)))
            (local.set $va (f32.load (i32.add (local.get $a) (i32.shl (local.get $r) (i32.const 2)))))
            (local.set $vb (f32.load (i32.add (i32.add (local.get $a) (local.get $capBytes)) (i32.shl (local.get $r) (i32.const 2)))))
            ;; written every time, kept only when either is nonzero (NaN counts as nonzero)
            (local.set $slot (i32.add (i32.mul (local.get $q) (local.get $cap)) (local.get $n)))
            (i32.store (i32.add (local.get $lists) (i32.shl (local.get $slot) (i32.const 2))) (local.get $r))
            (f32.store offset=0 (i32.add (local.get $pval) (i32.shl (local.get $slot) (i32.const 3))) (local.get $va))
            (f32.store offset=4 (i32.add (local.get $pval) (i32.shl (local.get $slot) (i32.const 3))) (local.get $vb))
            (local.set $n (i32.add (local.get $n) (i32.or (f32.ne (local.get $va) (f32.const 0)) (f32.ne (local.get $vb) (f32.const 0)))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rLoop)))
        (i32.store (i32.add (local.get $pcount) (i32.shl (local.get $q) (i32.const 2))) (local.get $n))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $qLoop))))

  ;; gb = the column sums of dz (rows × stride), float32, rows in order.
  (func (export "biasGradient")
    (param $dz i32) (param $rows i32) (param $stride i32) (param $gb i32)
    (local $r i32) (local $c i32) (local $rowBytes i32) (local $row i32)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (memory.fill (local.get $gb) (i32.const 0) (local.get $rowBytes))
    (block $rDone
      (loop $rLoop
        (br_if $rDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $row (i32.add (local.get $dz) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $c (i32.const 0))
        (block $cDone
          (loop $cLoop
            (br_if $cDone (i32.ge_u (local.get $c) (local.get $rowBytes)))
            (v128.store align=4 (i32.add (local.get $gb) (local.get $c))
              (f32x4.add (v128.load align=4 (i32.add (local.get $gb) (local.get $c))) (v128.load align=4 (i32.add (local.get $row) (local.get $c)))))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $cLoop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rLoop))))

  ;; The gradient reaching the layer below: dx[r][k] = dz[r]·W[k] (a dot product over `stride`
  ;; floats) for k < cols, then times ReLU's derivative (act[r][k] > 0) when relu ≠ 0. dx and act
  ;; rows are inStride floats; dx's padding columns are left as they are (zero).
  (func (export "denseInputGradient")
    (param $dz i32) (param $rows i32) (param $stride i32) (param $w i32) (param $cols i32)
    (param $act i32) (param $inStride i32) (param $relu i32) (param $dx i32)
    (local $r i32) (local $k i32) (local $c i32) (local $rowBytes i32) (local $inBytes i32)
    (local $dzRow i32) (local $wRow i32) (local $at i32) (local $sum v128) (local $dot f32)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $inBytes (i32.shl (local.get $inStride) (i32.const 2)))
    (block $rDone
      (loop $rLoop
        (br_if $rDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $dzRow (i32.add (local.get $dz) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $k (i32.const 0))
        (block $kDone
          (loop $kLoop
            (br_if $kDone (i32.ge_u (local.get $k) (local.get $cols)))
            (local.set $at (i32.add (i32.mul (local.get $r) (local.get $inBytes)) (i32.shl (local.get $k) (i32.const 2))))
            (local.set $dot (f32.const 0))
            (if (i32.or (i32.eqz (local.get $relu)) (f32.gt (f32.load (i32.add (local.get $act) (local.get $at))) (f32.const 0)))
              (then
                (local.set $wRow (i32.add (local.get $w) (i32.mul (local.get $k) (local.get $rowBytes))))
                (local.set $sum (v128.const i32x4 0 0 0 0))
                (local.set $c (i32.const 0))
                (block $cDone
                  (loop $cLoop
                    (br_if $cDone (i32.ge_u (local.get $c) (local.get $rowBytes)))
                    (local.set $sum (f32x4.add (local.get $sum)
                      (f32x4.mul (v128.load align=4 (i32.add (local.get $dzRow) (local.get $c))) (v128.load align=4 (i32.add (local.get $wRow) (local.get $c))))))
                    (local.set $c (i32.add (local.get $c) (i32.const 16)))
                    (br $cLoop)))
                (local.set $dot
                  (f32.add
                    (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 1 (local.get $sum)))
                    (f32.add (f32x4.extract_lane 2 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum)))))))
            (f32.store (i32.add (local.get $dx) (local.get $at)) (local.get $dot))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kLoop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rLoop))))

  ;; The weight gradient (xᵀ·dz) and an Adam step in one pass, for weight rows 2q and 2q+1 with
  ;; q0 ≤ q < q1 (so threads can share a kernel by pairs), from `parts` pair list sets
  ;; (columnPairs) `partBytes` apart, read in order. 16 gradients of both rows at a time in
  ;; eight registers (then 4 at a time): each block of dz loaded serves both. Each block is
  ;; applied to w, m and v while it is still in registers, so the gradient is never stored. Adam
  ;; here is m' = m·β₁ + g·(1−β₁), v' = v·β₂ + (g·g)·(1−β₂), w' = w + (m'·lrc)/(√v'·rc2 + ε)
  ;; with lrc = −lr/c₁ and rc2 = 1/√c₂: tfjs's formula with one division instead of three (it
  ;; rounds differently in the last bit). w, m and v are the kernel's rows (`stride` floats
  ;; each); the row 2q+1 = cols of an odd width does not exist and is left alone.
  (func (export "denseWeightGradientAdamPairs")
    (param $lists i32) (param $cols i32) (param $cap i32) (param $parts i32) (param $partBytes i32) (param $q0 i32) (param $q1 i32)
    (param $dz i32) (param $stride i32) (param $w i32) (param $m i32) (param $v i32)
    (param $b1 f32) (param $b2 f32) (param $ob1 f32) (param $ob2 f32) (param $lrc f32) (param $rc2 f32) (param $eps f32)
    (local $q i32) (local $n i32) (local $cb i32) (local $rowBytes i32) (local $wide i32) (local $second i32)
    (local $list i32) (local $row i32) (local $p i32) (local $at i32) (local $s v128)
    (local $part i32) (local $cidx i32) (local $cval i32) (local $cend i32) (local $setBytes i32)
    (local $xb1 v128) (local $xb2 v128) (local $xob1 v128) (local $xob2 v128) (local $xk1 v128) (local $xk2 v128) (local $xeps v128)
    (local $mm v128) (local $vv v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $a0_0 v128) (local $a0_1 v128) (local $a0_2 v128) (local $a0_3 v128)
    (local $a1_0 v128) (local $a1_1 v128) (local $a1_2 v128) (local $a1_3 v128)
    (local.set $xb1 (f32x4.splat (local.get $b1)))
    (local.set $xb2 (f32x4.splat (local.get $b2)))
    (local.set $xob1 (f32x4.splat (local.get $ob1)))
    (local.set $xob2 (f32x4.splat (local.get $ob2)))
    (local.set $xk1 (f32x4.splat (local.get $lrc)))
    (local.set $xk2 (f32x4.splat (local.get $rc2)))
    (local.set $xeps (f32x4.splat (local.get $eps)))
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $wide (i32.sub (local.get $rowBytes) (i32.const 64)))
    ;; bytes of one list set's row indices (pairs · cap · 4)
    (local.set $setBytes (i32.shl (i32.mul (i32.shr_u (i32.add (local.get $cols) (i32.const 1)) (i32.const 1)) (local.get $cap)) (i32.const 2)))
    (local.set $q (local.get $q0))
    (block $qDone
      (loop $qLoop
        (br_if $qDone (i32.ge_u (local.get $q) (local.get $q1)))
        (local.set $list (i32.shl (i32.mul (local.get $q) (local.get $cap)) (i32.const 2)))
        (local.set $row (i32.mul (i32.shl (local.get $q) (i32.const 1)) (local.get $rowBytes)))
        (local.set $second (i32.lt_u (i32.add (i32.shl (local.get $q) (i32.const 1)) (i32.const 1)) (local.get $cols)))
        (local.set $cb (i32.const 0))
        (block $wideDone
          (loop $wideLoop
            (br_if $wideDone (i32.gt_s (local.get $cb) (local.get $wide)))
            (local.set $a0_0 (v128.const i32x4 0 0 0 0))
            (local.set $a0_1 (v128.const i32x4 0 0 0 0))
            (local.set $a0_2 (v128.const i32x4 0 0 0 0))
            (local.set $a0_3 (v128.const i32x4 0 0 0 0))
            (local.set $a1_0 (v128.const i32x4 0 0 0 0))
            (local.set $a1_1 (v128.const i32x4 0 0 0 0))
            (local.set $a1_2 (v128.const i32x4 0 0 0 0))
            (local.set $a1_3 (v128.const i32x4 0 0 0 0))
            (local.set $part (i32.const 0))
            (block $partsDone
              (loop $partLoop
                (br_if $partsDone (i32.ge_u (local.get $part) (local.get $parts)))
                (local.set $cidx (i32.add (i32.add (local.get $lists) (i32.mul (local.get $part) (local.get $partBytes))) (local.get $list)))
                (local.set $cval (i32.add (i32.add (i32.add (local.get $lists) (i32.mul (local.get $part) (local.get $partBytes))) (local.get $setBytes)) (i32.shl (local.get $list) (i32.const 1))))
                (local.set $n (i32.load (i32.add (i32.add (i32.add (local.get $lists) (i32.mul (local.get $part) (local.get $partBytes))) (i32.mul (local.get $setBytes) (i32.const 3))) (i32.shl (local.get $q) (i32.const 2)))))
                (local.set $cend (i32.add (local.get $cidx) (i32.shl (local.get $n) (i32.const 2))))
                (block $jDone
                  (loop $jLoop
                    (br_if $jDone (i32.ge_u (local.get $cidx) (local.get $cend)))
                    (local.set $p (i32.add (i32.add (local.get $dz) (local.get $cb)) (i32.mul (i32.load (local.get $cidx)) (local.get $rowBytes))))
                    (local.set $d0 (v128.load offset=0 align=4 (local.get $p)))
                    (local.set $d1 (v128.load offset=16 align=4 (local.get $p)))
                    (local.set $d2 (v128.load offset=32 align=4 (local.get $p)))
                    (local.set $d3 (v128.load offset=48 align=4 (local.get $p)))
                    (local.set $s (v128.load32_splat offset=0 (local.get $cval)))
                    (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.mul (local.get $s) (local.get $d0))))
                    (local.set $a0_1 (f32x4.add (local.get $a0_1) (f32x4.mul (local.get $s) (local.get $d1))))
                    (local.set $a0_2 (f32x4.add (local.get $a0_2) (f32x4.mul (local.get $s) (local.get $d2))))
                    (local.set $a0_3 (f32x4.add (local.get $a0_3) (f32x4.mul (local.get $s) (local.get $d3))))
                    (local.set $s (v128.load32_splat offset=4 (local.get $cval)))
                    (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.mul (local.get $s) (local.get $d0))))
                    (local.set $a1_1 (f32x4.add (local.get $a1_1) (f32x4.mul (local.get $s) (local.get $d1))))
                    (local.set $a1_2 (f32x4.add (local.get $a1_2) (f32x4.mul (local.get $s) (local.get $d2))))
                    (local.set $a1_3 (f32x4.add (local.get $a1_3) (f32x4.mul (local.get $s) (local.get $d3))))
                    (local.set $cidx (i32.add (local.get $cidx) (i32.const 4)))
                    (local.set $cval (i32.add (local.get $cval) (i32.const 8)))
                    (br $jLoop)))
                (local.set $part (i32.add (local.get $part) (i32.const 1)))
                (br $partLoop)))
            (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.const 0))))
            (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a0_0) (local.get $xob1))))
            (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a0_0) (local.get $a0_0)) (local.get $xob2))))
            (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
            (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
            (v128.store align=4 (i32.add (local.get $w) (local.get $at))
              (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                  (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))
            (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.const 16))))
            (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a0_1) (local.get $xob1))))
            (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a0_1) (local.get $a0_1)) (local.get $xob2))))
            (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
            (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
            (v128.store align=4 (i32.add (local.get $w) (local.get $at))
              (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                  (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))
            (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.const 32))))
            (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a0_2) (local.get $xob1))))
            (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a0_2) (local.get $a0_2)) (local.get $xob2))))
            (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
            (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
            (v128.store align=4 (i32.add (local.get $w) (local.get $at))
              (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                  (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))
            (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.const 48))))
            (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a0_3) (local.get $xob1))))
            (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a0_3) (local.get $a0_3)) (local.get $xob2))))
            (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
            (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
            (v128.store align=4 (i32.add (local.get $w) (local.get $at))
              (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                  (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))
            (if (local.get $second)
              (then
                (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.add (local.get $rowBytes) (i32.const 0)))))
                (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a1_0) (local.get $xob1))))
                (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a1_0) (local.get $a1_0)) (local.get $xob2))))
                (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
                (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
                (v128.store align=4 (i32.add (local.get $w) (local.get $at))
                  (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                    (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                      (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))
                (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.add (local.get $rowBytes) (i32.const 16)))))
                (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a1_1) (local.get $xob1))))
                (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a1_1) (local.get $a1_1)) (local.get $xob2))))
                (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
                (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
                (v128.store align=4 (i32.add (local.get $w) (local.get $at))
                  (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                    (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                      (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))
                (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.add (local.get $rowBytes) (i32.const 32)))))
                (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a1_2) (local.get $xob1))))
                (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a1_2) (local.get $a1_2)) (local.get $xob2))))
                (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
                (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
                (v128.store align=4 (i32.add (local.get $w) (local.get $at))
                  (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                    (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                      (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))
                (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.add (local.get $rowBytes) (i32.const 48)))))
                (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a1_3) (local.get $xob1))))
                (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a1_3) (local.get $a1_3)) (local.get $xob2))))
                (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
                (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
                (v128.store align=4 (i32.add (local.get $w) (local.get $at))
                  (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                    (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                      (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))))
            (local.set $cb (i32.add (local.get $cb) (i32.const 64)))
            (br $wideLoop)))
        (block $narrowDone
          (loop $narrowLoop
            (br_if $narrowDone (i32.ge_u (local.get $cb) (local.get $rowBytes)))
            (local.set $a0_0 (v128.const i32x4 0 0 0 0))
            (local.set $a1_0 (v128.const i32x4 0 0 0 0))
            (local.set $part (i32.const 0))
            (block $partsDone
              (loop $partLoop
                (br_if $partsDone (i32.ge_u (local.get $part) (local.get $parts)))
                (local.set $cidx (i32.add (i32.add (local.get $lists) (i32.mul (local.get $part) (local.get $partBytes))) (local.get $list)))
                (local.set $cval (i32.add (i32.add (i32.add (local.get $lists) (i32.mul (local.get $part) (local.get $partBytes))) (local.get $setBytes)) (i32.shl (local.get $list) (i32.const 1))))
                (local.set $n (i32.load (i32.add (i32.add (i32.add (local.get $lists) (i32.mul (local.get $part) (local.get $partBytes))) (i32.mul (local.get $setBytes) (i32.const 3))) (i32.shl (local.get $q) (i32.const 2)))))
                (local.set $cend (i32.add (local.get $cidx) (i32.shl (local.get $n) (i32.const 2))))
                (block $jDone
                  (loop $jLoop
                    (br_if $jDone (i32.ge_u (local.get $cidx) (local.get $cend)))
                    (local.set $p (i32.add (i32.add (local.get $dz) (local.get $cb)) (i32.mul (i32.load (local.get $cidx)) (local.get $rowBytes))))
                    (local.set $d0 (v128.load offset=0 align=4 (local.get $p)))
                    (local.set $s (v128.load32_splat offset=0 (local.get $cval)))
                    (local.set $a0_0 (f32x4.add (local.get $a0_0) (f32x4.mul (local.get $s) (local.get $d0))))
                    (local.set $s (v128.load32_splat offset=4 (local.get $cval)))
                    (local.set $a1_0 (f32x4.add (local.get $a1_0) (f32x4.mul (local.get $s) (local.get $d0))))
                    (local.set $cidx (i32.add (local.get $cidx) (i32.const 4)))
                    (local.set $cval (i32.add (local.get $cval) (i32.const 8)))
                    (br $jLoop)))
                (local.set $part (i32.add (local.get $part) (i32.const 1)))
                (br $partLoop)))
            (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.const 0))))
            (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a0_0) (local.get $xob1))))
            (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a0_0) (local.get $a0_0)) (local.get $xob2))))
            (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
            (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
            (v128.store align=4 (i32.add (local.get $w) (local.get $at))
              (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                  (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))
            (if (local.get $second)
              (then
                (local.set $at (i32.add (local.get $row) (i32.add (local.get $cb) (i32.add (local.get $rowBytes) (i32.const 0)))))
                (local.set $mm (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $m) (local.get $at))) (local.get $xb1)) (f32x4.mul (local.get $a1_0) (local.get $xob1))))
                (local.set $vv (f32x4.add (f32x4.mul (v128.load align=4 (i32.add (local.get $v) (local.get $at))) (local.get $xb2)) (f32x4.mul (f32x4.mul (local.get $a1_0) (local.get $a1_0)) (local.get $xob2))))
                (v128.store align=4 (i32.add (local.get $m) (local.get $at)) (local.get $mm))
                (v128.store align=4 (i32.add (local.get $v) (local.get $at)) (local.get $vv))
                (v128.store align=4 (i32.add (local.get $w) (local.get $at))
                  (f32x4.add (v128.load align=4 (i32.add (local.get $w) (local.get $at)))
                    (f32x4.div (f32x4.mul (local.get $mm) (local.get $xk1))
                      (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $vv)) (local.get $xk2)) (local.get $xeps)))))))
            (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
            (br $narrowLoop)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $qLoop))))

  ;; The filter gradient of a small convolution (NHWC), accumulated straight into `out`
  ;; (kh·kw·ci rows of co floats, zeroed by the caller; co a multiple of 4):
  ;;   out[(fh,fw,c), :] += x[b, oh·sh + fh − padTop, ow·sw + fw − padLeft, c] · dy[b, oh, ow, :]
  ;; over every output position, skipping taps outside the image and zero pixels (half of an
  ;; image). For layers whose gradient fits in L1 (the first layer: 9 × 32), where an im2col and
  ;; a matrix product with 9 rows and 21,632-long sums waste most of their time.
  (func (export "convFilterGradientSmall")
    (param $x i32) (param $dy i32) (param $out i32)
    (param $batch i32) (param $inH i32) (param $inW i32) (param $ci i32)
    (param $outH i32) (param $outW i32) (param $co i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $padTop i32) (param $padLeft i32)
    (local $b i32) (local $oh i32) (local $ow i32) (local $fh i32) (local $fw i32) (local $c i32)
    (local $ih i32) (local $iw i32) (local $coBytes i32) (local $dyRow i32) (local $xPixel i32)
    (local $outRow i32) (local $cb i32) (local $s v128) (local $v f32)
    (local.set $coBytes (i32.shl (local.get $co) (i32.const 2)))
    (local.set $dyRow (local.get $dy))
    (block $bDone
      (loop $bLoop
        (br_if $bDone (i32.ge_u (local.get $b) (local.get $batch)))
        (local.set $oh (i32.const 0))
        (block $ohDone
          (loop $ohLoop
            (br_if $ohDone (i32.ge_u (local.get $oh) (local.get $outH)))
            (local.set $ow (i32.const 0))
            (block $owDone
              (loop $owLoop
                (br_if $owDone (i32.ge_u (local.get $ow) (local.get $outW)))
                (local.set $fh (i32.const 0))
                (block $fhDone
                  (loop $fhLoop
                    (br_if $fhDone (i32.ge_u (local.get $fh) (local.get $kh)))
                    (local.set $ih (i32.sub (i32.add (i32.mul (local.get $oh) (local.get $sh)) (local.get $fh)) (local.get $padTop)))
                    ;; 0 ≤ ih < inH, as one unsigned comparison
                    (if (i32.lt_u (local.get $ih) (local.get $inH))
                      (then
                        (local.set $fw (i32.const 0))
                        (block $fwDone
                          (loop $fwLoop
                            (br_if $fwDone (i32.ge_u (local.get $fw) (local.get $kw)))
                            (local.set $iw (i32.sub (i32.add (i32.mul (local.get $ow) (local.get $sw)) (local.get $fw)) (local.get $padLeft)))
                            (if (i32.lt_u (local.get $iw) (local.get $inW))
                              (then
                                (local.set $xPixel
                                  (i32.add (local.get $x)
                                    (i32.shl
                                      (i32.mul
                                        (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $inH)) (local.get $ih)) (local.get $inW)) (local.get $iw))
                                        (local.get $ci))
                                      (i32.const 2))))
                                (local.set $c (i32.const 0))
                                (block $cDone
                                  (loop $cLoop
                                    (br_if $cDone (i32.ge_u (local.get $c) (local.get $ci)))
                                    (local.set $v (f32.load (i32.add (local.get $xPixel) (i32.shl (local.get $c) (i32.const 2)))))
                                    (if (f32.ne (local.get $v) (f32.const 0))
                                      (then
                                        (local.set $s (f32x4.splat (local.get $v)))
                                        (local.set $outRow
                                          (i32.add (local.get $out)
                                            (i32.mul
                                              (i32.add (i32.mul (i32.add (i32.mul (local.get $fh) (local.get $kw)) (local.get $fw)) (local.get $ci)) (local.get $c))
                                              (local.get $coBytes))))
                                        (local.set $cb (i32.const 0))
                                        (block $cbDone
                                          (loop $cbLoop
                                            (br_if $cbDone (i32.ge_u (local.get $cb) (local.get $coBytes)))
                                            (v128.store align=4 (i32.add (local.get $outRow) (local.get $cb))
                                              (f32x4.add
                                                (v128.load align=4 (i32.add (local.get $outRow) (local.get $cb)))
                                                (f32x4.mul (local.get $s) (v128.load align=4 (i32.add (local.get $dyRow) (local.get $cb))))))
                                            (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
                                            (br $cbLoop)))))
                                    (local.set $c (i32.add (local.get $c) (i32.const 1)))
                                    (br $cLoop)))))
                            (local.set $fw (i32.add (local.get $fw) (i32.const 1)))
                            (br $fwLoop)))))
                    (local.set $fh (i32.add (local.get $fh) (i32.const 1)))
                    (br $fhLoop)))
                (local.set $dyRow (i32.add (local.get $dyRow) (local.get $coBytes)))
                (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                (br $owLoop)))
            (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
            (br $ohLoop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bLoop))))
)
