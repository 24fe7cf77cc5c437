// A layered layout of a directed graph, top to bottom (after Sugiyama et al.):
//   1. break cycles (a depth-first search reverses the edges that point back up),
//   2. rank each vertex by the longest path from a source,
//   3. route edges that span several ranks through dummy vertices, one per rank crossed,
//   4. order each rank by barycenters, sweeping down and up, keeping the order with the fewest crossings,
//   5. place vertices horizontally as close as possible to the vertices they connect to, keeping each rank's
//      order and spacing (a least-squares fit per rank, solved exactly by isotonic regression),
//   6. stack the ranks and turn each edge into a polyline through its dummies.
//
// layeredLayout({nodes: [{id, width, height}], edges: [{from, to, weight?}], startAt}) ->
//   {width, height, nodes: Map(id -> {x, y, width, height}),            (x, y: the top-left corner)
//    routes: [{from, to, edges: [the input edges between the two], points: [{x, y}, ...]}]}

export function layeredLayout(graph, options = {}) {
  const { nodeGap = 32, dummyGap = 12, layerGap = 50, dummyWidth = 10, margin = 20, iterations = 24,
    gravity = 1.5 } = options;
  const nodeById = new Map(graph.nodes.map((n) => [n.id, n]));

  // Edges between the same two states are drawn as one.
  const pairs = new Map();
  for (const edge of graph.edges) {
    if (!nodeById.has(edge.from) || !nodeById.has(edge.to) || edge.from === edge.to) continue;
    const key = `${edge.from}\u0000${edge.to}`;
    if (!pairs.has(key)) pairs.set(key, { key, from: edge.from, to: edge.to, edges: [], weight: 0 });
    const pair = pairs.get(key);
    pair.edges.push(edge);
    pair.weight = Math.max(pair.weight, edge.weight ?? 1);
  }

  // 1. Cycles.
  const successors = new Map(graph.nodes.map((n) => [n.id, []]));
  for (const pair of pairs.values()) successors.get(pair.from).push(pair);
  const visit = new Map();
  const dfs = (id) => {
    visit.set(id, 1);
    for (const pair of successors.get(id)) {
      if (visit.get(pair.to) === 1) pair.reversed = true;
      else if (!visit.has(pair.to)) dfs(pair.to);
    }
    visit.set(id, 2);
  };
  if (nodeById.has(graph.startAt)) dfs(graph.startAt);
  graph.nodes.forEach((n) => visit.has(n.id) || dfs(n.id));
  for (const pair of pairs.values()) {
    [pair.upper, pair.lower] = pair.reversed ? [pair.to, pair.from] : [pair.from, pair.to];
  }

  // 2. Ranks: longest path, in topological order (Kahn).
  const rank = new Map(graph.nodes.map((n) => [n.id, 0]));
  const indegree = new Map(graph.nodes.map((n) => [n.id, 0]));
  const down = new Map(graph.nodes.map((n) => [n.id, []]));
  for (const pair of pairs.values()) {
    indegree.set(pair.lower, indegree.get(pair.lower) + 1);
    down.get(pair.upper).push(pair.lower);
  }
  const queue = graph.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  while (queue.length) {
    const id = queue.shift();
    for (const next of down.get(id)) {
      rank.set(next, Math.max(rank.get(next), rank.get(id) + 1));
      indegree.set(next, indegree.get(next) - 1);
      if (indegree.get(next) === 0) queue.push(next);
    }
  }

  // 3. Vertices (states and dummies) and the segments between adjacent ranks.
  const vertices = new Map();
  for (const n of graph.nodes) {
    vertices.set(n.id, { id: n.id, real: true, width: n.width, height: n.height, rank: rank.get(n.id), up: [], down: [] });
  }
  const link = (a, b, weight) => {
    vertices.get(a).down.push({ id: b, weight });
    vertices.get(b).up.push({ id: a, weight });
  };
  for (const pair of pairs.values()) {
    const chain = [pair.upper];
    for (let r = rank.get(pair.upper) + 1; r < rank.get(pair.lower); r++) {
      const id = `\u0000${pair.key}\u0000${r}`;
      vertices.set(id, { id, real: false, width: dummyWidth, height: 0, rank: r, up: [], down: [] });
      chain.push(id);
    }
    chain.push(pair.lower);
    pair.chain = chain;
    for (let i = 1; i < chain.length; i++) {
      const dummies = [chain[i - 1], chain[i]].filter((id) => !vertices.get(id).real).length;
      link(chain[i - 1], chain[i], pair.weight * [1, 2, 8][dummies]);
    }
  }
  const rankCount = Math.max(0, ...[...vertices.values()].map((v) => v.rank)) + 1;
  let layers = Array.from({ length: rankCount }, () => []);

  // Initial order: breadth first from the start, following edges in definition order.
  const seen = new Set();
  const order = [];
  const starts = [graph.startAt, ...graph.nodes.map((n) => n.id)].filter((id) => vertices.has(id));
  for (const start of starts) {
    if (seen.has(start)) continue;
    const todo = [start];
    seen.add(start);
    while (todo.length) {
      const id = todo.shift();
      order.push(id);
      for (const next of vertices.get(id).down) {
        if (!seen.has(next.id)) {
          seen.add(next.id);
          todo.push(next.id);
        }
      }
    }
  }
  for (const id of vertices.keys()) if (!seen.has(id)) order.push(id);
  order.forEach((id) => layers[vertices.get(id).rank].push(id));

  // 4. Crossing reduction.
  const position = new Map();
  const index = (ls) => ls.forEach((layer) => layer.forEach((id, i) => position.set(id, i)));
  const crossings = (ls) => {
    index(ls);
    let total = 0;
    for (let r = 0; r + 1 < ls.length; r++) {
      const segments = [];
      for (const id of ls[r]) for (const d of vertices.get(id).down) segments.push([position.get(id), position.get(d.id)]);
      for (let i = 0; i < segments.length; i++) {
        for (let j = i + 1; j < segments.length; j++) {
          const [a, b] = [segments[i], segments[j]];
          if ((a[0] - b[0]) * (a[1] - b[1]) < 0) total++;
        }
      }
    }
    return total;
  };
  const sortByBarycenter = (layer, side) => {
    const key = new Map(layer.map((id) => {
      const neighbours = vertices.get(id)[side];
      if (!neighbours.length) return [id, position.get(id)];
      return [id, neighbours.reduce((sum, n) => sum + position.get(n.id), 0) / neighbours.length];
    }));
    layer.sort((a, b) => key.get(a) - key.get(b) || position.get(a) - position.get(b));
    layer.forEach((id, i) => position.set(id, i));
  };
  let best = layers.map((l) => [...l]);
  let bestCrossings = crossings(layers);
  for (let i = 0; i < iterations && bestCrossings > 0; i++) {
    index(layers);
    if (i % 2 === 0) for (let r = 1; r < rankCount; r++) sortByBarycenter(layers[r], "up");
    else for (let r = rankCount - 2; r >= 0; r--) sortByBarycenter(layers[r], "down");
    const count = crossings(layers);
    if (count < bestCrossings) {
      bestCrossings = count;
      best = layers.map((l) => [...l]);
    }
  }
  layers = best;

  // 5. Horizontal placement.
  const x = new Map();
  for (const layer of layers) {
    let left = 0;
    for (const id of layer) {
      const v = vertices.get(id);
      x.set(id, left + v.width / 2);
      left += v.width + nodeGap;
    }
  }
  const gapBetween = (a, b) => {
    const [va, vb] = [vertices.get(a), vertices.get(b)];
    return (va.width + vb.width) / 2 + (va.real && vb.real ? nodeGap : dummyGap);
  };
  // Each vertex is pulled towards the vertices it is linked to and, weakly, towards a common axis (`gravity`),
  // which keeps the drawing from drifting sideways rank after rank.
  const axis = Math.max(...layers.map((layer) => {
    const last = layer[layer.length - 1];
    return last === undefined ? 0 : x.get(last) + vertices.get(last).width / 2;
  })) / 2;
  for (let i = 0; i < iterations * 2; i++) {
    for (const layer of i % 2 ? [...layers].reverse() : layers) {
      const targets = layer.map((id) => {
        const v = vertices.get(id);
        const neighbours = [...v.up, ...v.down];
        const pull = v.real ? gravity : gravity / 4;
        const total = neighbours.reduce((sum, n) => sum + n.weight, pull);
        return (neighbours.reduce((sum, n) => sum + n.weight * x.get(n.id), 0) + pull * axis) / total;
      });
      const placed = isotonicPlacement(targets, layer.slice(1).map((id, j) => gapBetween(layer[j], id)));
      layer.forEach((id, j) => x.set(id, placed[j]));
    }
  }
  const minLeft = Math.min(...[...vertices.values()].map((v) => x.get(v.id) - v.width / 2));
  const maxRight = Math.max(...[...vertices.values()].map((v) => x.get(v.id) + v.width / 2));
  for (const id of x.keys()) x.set(id, x.get(id) - minLeft + margin);

  // 6. Ranks stacked; ports spread along each node's top and bottom sides.
  const layerTop = [];
  const layerHeight = layers.map((layer) => Math.max(16, ...layer.map((id) => vertices.get(id).height)));
  let top = margin;
  for (let r = 0; r < rankCount; r++) {
    layerTop.push(top);
    top += layerHeight[r] + layerGap;
  }
  const boxes = new Map();
  for (const v of vertices.values()) {
    if (!v.real) continue;
    const y = layerTop[v.rank] + (layerHeight[v.rank] - v.height) / 2;
    boxes.set(v.id, { x: x.get(v.id) - v.width / 2, y, width: v.width, height: v.height });
  }
  const portX = new Map(); // `${pairKey}:out` / `${pairKey}:in` -> x
  const spread = (id, entries, suffix) => {
    const box = boxes.get(id);
    entries.sort((a, b) => a.towards - b.towards);
    const step = Math.min(18, (box.width - 40) / Math.max(1, entries.length));
    entries.forEach((entry, i) => portX.set(`${entry.key}:${suffix}`,
      box.x + box.width / 2 + (i - (entries.length - 1) / 2) * step));
  };
  for (const id of boxes.keys()) {
    const outgoing = [];
    const incoming = [];
    for (const pair of pairs.values()) {
      if (pair.upper === id) outgoing.push({ key: pair.key, towards: x.get(pair.chain[1]) });
      if (pair.lower === id) incoming.push({ key: pair.key, towards: x.get(pair.chain[pair.chain.length - 2]) });
    }
    spread(id, outgoing, "out");
    spread(id, incoming, "in");
  }
  const routes = [...pairs.values()].map((pair) => {
    const upper = boxes.get(pair.upper);
    const lower = boxes.get(pair.lower);
    const points = [{ x: portX.get(`${pair.key}:out`), y: upper.y + upper.height }];
    for (const id of pair.chain.slice(1, -1)) {
      const r = vertices.get(id).rank;
      points.push({ x: x.get(id), y: layerTop[r] }, { x: x.get(id), y: layerTop[r] + layerHeight[r] });
    }
    points.push({ x: portX.get(`${pair.key}:in`), y: lower.y });
    if (pair.reversed) points.reverse();
    return { from: pair.from, to: pair.to, edges: pair.edges, points, reversed: Boolean(pair.reversed) };
  });
  return { width: maxRight - minLeft + 2 * margin, height: top - layerGap + margin, nodes: boxes, routes,
    crossings: bestCrossings };
}

/** The positions closest (least squares) to `targets` that keep their order with at least `gaps[i]` between
 * positions i and i+1: subtracting the cumulative gaps turns this into isotonic regression (pool adjacent
 * violators). */
export function isotonicPlacement(targets, gaps) {
  const offsets = [0];
  for (const gap of gaps) offsets.push(offsets[offsets.length - 1] + gap);
  const blocks = []; // {sum, count}
  targets.forEach((target, i) => {
    blocks.push({ sum: target - offsets[i], count: 1 });
    while (blocks.length > 1) {
      const [a, b] = blocks.slice(-2);
      if (a.sum / a.count <= b.sum / b.count) break;
      blocks.splice(-2, 2, { sum: a.sum + b.sum, count: a.count + b.count });
    }
  });
  const out = [];
  for (const block of blocks) for (let k = 0; k < block.count; k++) out.push(block.sum / block.count + offsets[out.length]);
  return out;
}

/** An SVG path through `points` with vertical tangents, so the edge leaves and enters nodes straight. */
export function smoothPath(points) {
  let d = `M${points[0].x.toFixed(1)},${points[0].y.toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (Math.abs(a.x - b.x) < 0.5) {
      d += ` L${b.x.toFixed(1)},${b.y.toFixed(1)}`;
      continue;
    }
    const dy = (b.y - a.y) / 2;
    d += ` C${a.x.toFixed(1)},${(a.y + dy).toFixed(1)} ${b.x.toFixed(1)},${(b.y - dy).toFixed(1)} `
      + `${b.x.toFixed(1)},${b.y.toFixed(1)}`;
  }
  return d;
}
