## The client programs of clients.h in Nim: binary-trees (BT), cyclic
## binary-trees (BTC: every node also holds its parent) and GCBench (GCB).
## Compile with `nim c --mm:orc -d:release` (reference counting plus ORC's
## cycle collector, default settings). Nim has no collection hook, so only
## totals are printed. Run as `clients_nim BT|BTC|GCB [scale]`.

import std/[os, strutils, math, times]

type
  BT = ref object
    left, right: BT
  BTC = ref object
    left, right: BTC
    parent: BTC
  GNode = ref object
    left, right: GNode
    i, j: int32

var workload = "?"

proc emit(metric: string, v: float) =
  echo workload, " nim ", metric, " ", formatFloat(v, ffDefault, 6)

proc emitCount(metric: string, v: int64) =
  echo workload, " nim ", metric, " ", v

proc treeNodes(d: int): int64 = (1'i64 shl (d + 1)) - 1

proc btMake(d: int): BT =
  if d <= 0: return BT()
  let l = btMake(d - 1)
  let r = btMake(d - 1)
  BT(left: l, right: r)

proc btCheck(t: BT): int64 =
  if t.left == nil: 1'i64 else: 1 + btCheck(t.left) + btCheck(t.right)

proc btcMake(d: int): BTC =
  if d <= 0: return BTC()
  let l = btcMake(d - 1)
  let r = btcMake(d - 1)
  result = BTC(left: l, right: r)
  l.parent = result
  r.parent = result

proc btcCheck(t: BTC): int64 =
  if t.left == nil: 1'i64 else: 1 + btcCheck(t.left) + btcCheck(t.right)

proc runBT[T](shift: int, make: proc (d: int): T {.nimcall.},
              check: proc (t: T): int64 {.nimcall.}): int64 =
  let minDepth = 4
  let maxDepth = max(minDepth + 2, 18 + shift)
  var sum = 0'i64
  var stretch = make(maxDepth + 1)
  sum += check(stretch)
  stretch = nil
  result += treeNodes(maxDepth + 1)
  var longLived = make(maxDepth)
  result += treeNodes(maxDepth)
  var d = minDepth
  while d <= maxDepth:
    let iters = 1'i64 shl (maxDepth - d + minDepth)
    for i in 0 ..< iters:
      var t = make(d)
      sum += check(t)
      t = nil
    result += iters * treeNodes(d)
    d += 2
  sum += check(longLived)
  longLived = nil
  emitCount("checksum", sum)

proc populate(d: int, n: GNode) =
  if d <= 0: return
  n.left = GNode()
  n.right = GNode()
  populate(d - 1, n.left)
  populate(d - 1, n.right)

proc makeTree(d: int): GNode =
  if d <= 0: return GNode()
  let l = makeTree(d - 1)
  let r = makeTree(d - 1)
  GNode(left: l, right: r)

proc gcbCheck(t: GNode): int64 =
  if t.left == nil: 1'i64 else: 1 + gcbCheck(t.left) + gcbCheck(t.right)

proc runGCB(shift: int, scale: float): int64 =
  let minDepth = 4
  let maxDepth = max(minDepth, 16 + shift)
  let longLivedDepth = max(minDepth, 16 + shift)
  let stretchDepth = max(maxDepth, 18 + shift)
  let arraySize = max(1, int(500000.0 * scale + 0.5))
  var sum = 0'i64
  var stretch = GNode()
  populate(stretchDepth, stretch)
  sum += gcbCheck(stretch)
  stretch = nil
  result += treeNodes(stretchDepth)
  var longLived = GNode()
  populate(longLivedDepth, longLived)
  result += treeNodes(longLivedDepth)
  var arr = newSeq[float](arraySize)
  for i in 1 ..< arraySize div 2: arr[i] = 1.0 / float(i)
  var d = minDepth
  while d <= maxDepth:
    let iters = 2 * treeNodes(stretchDepth) div treeNodes(d)
    for i in 0 ..< iters:
      var t = GNode()
      populate(d, t)
      t = nil
    for i in 0 ..< iters:
      var t = makeTree(d)
      t = nil
    result += 2 * iters * treeNodes(d)
    d += 2
  let ll = gcbCheck(longLived)
  if ll != treeNodes(longLivedDepth) or (arraySize > 1000 and arr[1000] != 1.0 / 1000.0):
    stderr.writeLine("# GCB: long-lived data damaged")
  sum += ll
  emitCount("checksum", sum)

proc peakRssMb(): float =
  for line in lines("/proc/self/status"):
    if line.startsWith("VmHWM:"):
      return parseFloat(line.splitWhitespace()[1]) / 1024.0
  -1.0

proc main() =
  if paramCount() < 1 or paramStr(1) notin ["BT", "BTC", "GCB"]:
    quit("usage: clients_nim BT|BTC|GCB [scale]", 2)
  workload = paramStr(1)
  let scale = if paramCount() >= 2: parseFloat(paramStr(2)) else: 1.0
  let shift = int(round(log2(scale)))
  let useWall = getEnv("BENCH_CLOCK") == "wall"
  let t0 = if useWall: epochTime() else: cpuTime()
  var nodes: int64
  case workload
  of "BT": nodes = runBT(shift, btMake, btCheck)
  of "BTC": nodes = runBT(shift, btcMake, btcCheck)
  else: nodes = runGCB(shift, scale)
  let total = (if useWall: epochTime() else: cpuTime()) - t0
  emit("total_s", total)
  emitCount("nodes", nodes)
  emit("ns_per_node", total * 1e9 / float(nodes))
  emit("peak_rss_mb", peakRssMb())

main()
