// backprop-lab playground: the page only draws. Training, every heatmap and every gradient come from the
// Python session over the WebSocket /ws (see nn/playground/protocol.py for the messages it sends).
"use strict";

(() => {
  // -- the settings (the server's Settings fields) and the page's own view toggles, both in the URL --------

  const SETTINGS = [
    "dataset", "noise", "points", "train_percent", "batch_size", "data_seed", "features", "hidden",
    "activation", "init", "init_seed", "optimizer", "lr", "regularization", "reg_rate",
  ];
  const VIEW_DEFAULTS = { show_test: true, discretize: false, gradients: false };
  const VIEW_CONTROLS = { show_test: "show-test", discretize: "discretize", gradients: "show-gradients" };
  const MAX_LAYERS = 6;
  const MAX_WIDTH = 8;

  const TILE = 34;       // a neuron's heatmap, in pixels
  const ROW = TILE + 14; // one neuron below the next
  const INPUT_LEFT = 58; // room for the features' labels
  const OUTPUT_SIZE = 300;

  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  const page = {
    settings: {},             // field -> query text, as the server last confirmed (or the URL asked)
    view: { ...VIEW_DEFAULTS },
    socket: null,
    data: null,               // the last "data" message: points, extent, the seven feature maps
    dataVersion: 0,
    snapshot: null,           // the last "snapshot" message
    query: null,              // the settings query the controls show
    settingsPending: 0,       // settings sent and not yet answered
    controlsSent: 0,          // settings, play, pause, step and reset messages sent (the server counts them too)
    playing: false,
    structure: "",            // what the network drawing was built for
    tags: "",                 // which neurons carry a dead or frozen tag
    geometry: null,
    hovered: null,            // {kind: "neuron", layer, index} or {kind: "input", name} under the mouse
    neuron: null,             // {layer, index} shown in the neuron panel
    expanded: false,          // the point's graph drawn op by op, not boxed by neuron
    neuronAsked: 0,           // when the panel last asked for it (ms), and whether a request is out
    neuronPending: false,
    point: null,              // {split, index} shown in the point panel
    exportWanted: null,       // "model" or "settings"
    stepsWindow: null,
    rendered: 0,
    renderMs: 0,
    closedByUs: false,
  };

  // -- colours: TensorFlow Playground's orange / grey / blue, 31 shades for heatmaps --------------------

  const STOPS = [[0xf5, 0x93, 0x22], [0xe8, 0xea, 0xeb], [0x08, 0x77, 0xbd]];

  function mix(t) {
    // t in [0, 1]: orange -> grey -> blue
    const u = Math.min(1, Math.max(0, t));
    const [a, b, s] = u < 0.5 ? [STOPS[0], STOPS[1], u * 2] : [STOPS[1], STOPS[2], (u - 0.5) * 2];
    return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * s));
  }

  function colour(v) {
    // a value in [-1, 1] (clamped) as a CSS colour
    const [r, g, b] = mix((v + 1) / 2);
    return `rgb(${r},${g},${b})`;
  }

  const SHADES = 30;
  const LUT = new Uint8ClampedArray(256 * 3); // byte -> quantized colour, as TF's heatmaps
  const LUT_SIGN = new Uint8ClampedArray(256 * 3); // discretized: the sign only
  for (let byte = 0; byte < 256; byte++) {
    const v = (byte / 255) * 2 - 1;
    const shade = Math.min(SHADES, Math.floor(((v + 1) / 2) * (SHADES + 1)));
    LUT.set(mix(shade / SHADES), byte * 3);
    LUT_SIGN.set(mix(byte >= 128 ? 1 : 0), byte * 3);
  }

  const decoded = new Map(); // base64 -> bytes, for the heatmaps that do not change (inputs)

  function bytesOf(b64) {
    if (decoded.has(b64)) return decoded.get(b64);
    const text = atob(b64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    if (decoded.size > 64) decoded.clear();
    return bytes;
  }

  function paint(canvas, b64, size, discretize = false) {
    // a G x G heatmap (rows from the top) into a canvas of G x G pixels, scaled by CSS
    if (canvas.width !== size) canvas.width = canvas.height = size;
    const bytes = bytesOf(b64);
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(size, size);
    const lut = discretize ? LUT_SIGN : LUT;
    const px = image.data;
    for (let i = 0, p = 0; i < bytes.length; i++, p += 4) {
      const c = bytes[i] * 3;
      px[p] = lut[c];
      px[p + 1] = lut[c + 1];
      px[p + 2] = lut[c + 2];
      px[p + 3] = 160;
    }
    ctx.putImageData(image, 0, 0);
  }

  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  function setAttr(element, name, value) {
    if (element.getAttribute(name) !== value) element.setAttribute(name, value);
  }

  // -- numbers ---------------------------------------------------------------------------------------------

  const fixed = (x, digits = 3) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
  const percent = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);
  const short = (x) => (x === null || x === undefined ? "–" : Number(x).toPrecision(3));

  function scientific(x) {
    if (x === null || x === undefined) return "–";
    if (x === 0) return "0";
    return Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? Number(x).toPrecision(2) : Number(x).toExponential(1);
  }

  // -- the URL: the settings' query plus the view toggles ----------------------------------------------------

  function readUrl() {
    const params = new URLSearchParams(location.search);
    for (const [key, value] of params) {
      if (SETTINGS.includes(key)) page.settings[key] = value;
      else if (key in VIEW_DEFAULTS) page.view[key] = value === "1" || value === "true";
    }
  }

  function settingsQuery() {
    const params = new URLSearchParams();
    for (const key of SETTINGS) if (key in page.settings) params.set(key, page.settings[key]);
    return params.toString().replace(/%2C/g, ",");
  }

  function writeUrl() {
    let query = settingsQuery();
    for (const [key, fallback] of Object.entries(VIEW_DEFAULTS)) {
      if (page.view[key] !== fallback) query += `&${key}=${page.view[key] ? 1 : 0}`;
    }
    history.replaceState(null, "", `${location.pathname}?${query}`);
  }

  function adopt(query) {
    // the server's canonical settings: controls and URL follow them
    page.query = query;
    const params = new URLSearchParams(query);
    page.settings = {};
    for (const [key, value] of params) page.settings[key] = value;
    for (const element of document.querySelectorAll("[data-setting]")) {
      const value = page.settings[element.dataset.setting];
      if (value === undefined) continue;
      if (element.tagName === "SELECT") {
        const match = [...element.options].find((o) => Number(o.value) === Number(value) || o.value === value);
        if (match) element.value = match.value;
      } else {
        element.value = value;
      }
      showValue(element);
    }
    const hidden = hiddenLayers();
    $("layer-count").textContent = `${hidden.length} hidden layer${hidden.length === 1 ? "" : "s"}`;
    $("add-layer").disabled = hidden.length >= MAX_LAYERS;
    $("remove-layer").disabled = hidden.length === 0;
    writeUrl();
  }

  function showValue(element) {
    const out = $(`${element.id}-value`);
    if (out) out.textContent = element.value;
  }

  const hiddenLayers = () => (page.settings.hidden ? page.settings.hidden.split(",").map(Number) : []);
  const activeFeatures = () => (page.settings.features || "x1,x2").split(",");

  // -- the socket ----------------------------------------------------------------------------------------------

  const CONTROLS = new Set(["settings", "play", "pause", "step", "reset"]);

  function send(message) {
    if (!page.socket || page.socket.readyState !== WebSocket.OPEN) return;
    page.socket.send(JSON.stringify(message));
    if (CONTROLS.has(message.type)) page.controlsSent += 1;
  }

  function sendSettings() {
    page.playing = false;
    closePanels();
    page.settingsPending += 1;
    send({ type: "settings", query: settingsQuery() });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    page.socket = socket;
    socket.addEventListener("open", () => {
      document.body.dataset.connected = "true";
      sendSettings();
    });
    socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      document.body.dataset.connected = "false";
      if (!page.closedByUs) $("disconnected").hidden = false;
      setPlaying(false);
    });
  }

  window.addEventListener("pagehide", () => {
    // a reload or a closed tab ends this session on the server at once
    page.closedByUs = true;
    if (page.socket) page.socket.close();
  });

  function receive(message) {
    switch (message.type) {
      case "data": return onData(message);
      case "snapshot": return onSnapshot(message);
      case "point": return onPoint(message);
      case "neuron": return onNeuron(message);
      case "export": return onExport(message);
      case "steps": return onSteps(message);
      case "error": return onError(message);
      default: return undefined;
    }
  }

  let errorTimer = 0;

  function onError(message) {
    const banner = $("error");
    banner.textContent = message.message;
    banner.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { banner.hidden = true; }, 12000);
    if (message.request === "settings") {
      page.settingsPending = Math.max(0, page.settingsPending - 1);
      if (!page.snapshot) {
        // the URL asked for something the server refuses: start from the defaults instead
        page.settings = {};
        send({ type: "settings", query: "" });
      } else {
        adopt(page.snapshot.query); // the controls go back to what is running
      }
    }
    if (message.request === "neuron") page.neuronPending = false;
    if (message.request === "steps" && page.stepsWindow) page.stepsWindow.close();
  }

  // -- data: the points ----------------------------------------------------------------------------------------

  function onData(message) {
    page.settingsPending = Math.max(0, page.settingsPending - 1);
    page.data = message;
    page.dataVersion += 1;
    drawPoints();
  }

  function toPlane(x, y) {
    const e = page.data.extent;
    return [((x + e) / (2 * e)) * OUTPUT_SIZE, ((e - y) / (2 * e)) * OUTPUT_SIZE];
  }

  function drawPoints() {
    const svg = $("data-points");
    svg.replaceChildren();
    for (const split of ["train", "test"]) {
      const group = document.createElementNS(SVG, "g");
      group.setAttribute("class", split);
      if (split === "test" && !page.view.show_test) group.setAttribute("display", "none");
      const { x, y } = page.data[split];
      x.forEach(([a, b], index) => {
        const [cx, cy] = toPlane(a, b);
        const circle = document.createElementNS(SVG, "circle");
        circle.setAttribute("cx", cx.toFixed(1));
        circle.setAttribute("cy", cy.toFixed(1));
        circle.setAttribute("r", "3.5");
        circle.setAttribute("fill", colour(y[index] ? 1 : -1));
        circle.dataset.split = split;
        circle.dataset.index = String(index);
        group.appendChild(circle);
      });
      svg.appendChild(group);
    }
  }

  $("data-points").addEventListener("click", (event) => {
    const circle = event.target.closest("circle");
    if (!circle) return;
    for (const old of document.querySelectorAll("#data-points circle.selected")) old.classList.remove("selected");
    circle.classList.add("selected");
    page.point = { split: circle.dataset.split, index: Number(circle.dataset.index) };
    setExpanded(false);  // a new example starts boxed by neuron
    askPoint();
  });

  function setExpanded(expanded) {
    page.expanded = expanded;
    const button = $("expand-point");
    button.textContent = expanded ? "Collapse neurons" : "Expand neurons";
    button.setAttribute("aria-pressed", String(expanded));
  }

  $("expand-point").addEventListener("click", () => {
    if (!page.point) return;
    setExpanded(!page.expanded);
    askPoint();
  });

  function askPoint() {
    const panel = $("point-panel");
    panel.hidden = false;
    $("point-summary").textContent = "Building this example's graph…";
    send({ type: "point", ...page.point, expanded: page.expanded });
  }

  function onPoint(message) {
    if (!page.point || message.split !== page.point.split || message.index !== page.point.index) return;
    if (message.expanded !== page.expanded) return;  // an answer to an earlier click
    const names = page.data.features.map((f) => f.label);
    const label = message.label ? "1 (blue)" : "0 (orange)";
    $("point-heading").textContent = `${message.split === "train" ? "Training" : "Test"} example #${message.index}`;
    $("point-summary").textContent =
      `at (${names[0]}, ${names[1]}) = (${short(message.x[0])}, ${short(message.x[1])}), label ${label}; ` +
      `its loss ${fixed(message.loss, 4)}; ${message.nodes} values in its graph, ` +
      `${message.expanded ? "every op drawn" : "boxed by neuron"}, ` +
      "each with its data and grad (coloured by |grad|: the blame).";
    const doc = new DOMParser().parseFromString(message.svg, "image/svg+xml");
    const svg = doc.documentElement;
    const graph = $("point-graph");
    if (svg && svg.nodeName === "svg") {
      const node = document.importNode(svg, true);
      // Boxed by neuron: fit the panel, but never so small that the labels cannot be read (then
      // scroll). Op by op the graph is many times wider: fit it whole, to see its shape (the
      // step-through tab shows each op large).
      const box = (node.getAttribute("viewBox") || "").split(/[\s,]+/).map(Number);
      const natural = box.length === 4 && box[2] > 0 ? box[2] : graph.clientWidth;
      const fit = graph.clientWidth - 2;
      node.style.width = `${message.expanded ? Math.min(fit, natural) : Math.max(fit, natural * 0.75)}px`;
      graph.replaceChildren(node);
    } else graph.textContent = "The graph could not be drawn.";
  }

  $("step-through").addEventListener("click", () => {
    if (!page.point) return;
    // open the tab now, in the click (a popup opened later, from the reply, would be blocked)
    page.stepsWindow = window.open("", "_blank");
    if (page.stepsWindow) page.stepsWindow.document.title = "Stepping through backward…";
    send({ type: "steps", ...page.point });
  });

  function onSteps(message) {
    const url = URL.createObjectURL(new Blob([message.html], { type: "text/html" }));
    if (page.stepsWindow && !page.stepsWindow.closed) page.stepsWindow.location.href = url;
    else window.open(url, "_blank");
    page.stepsWindow = null;
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  $("close-point").addEventListener("click", () => {
    page.point = null;
    $("point-panel").hidden = true;
    for (const old of document.querySelectorAll("#data-points circle.selected")) old.classList.remove("selected");
  });

  // -- snapshots: every live view ---------------------------------------------------------------------------

  function onSnapshot(snap) {
    const started = performance.now();
    const first = page.snapshot === null;
    page.snapshot = snap;
    // A snapshot sent before the server read the page's latest Play or Pause says what was, not what is
    // (without this, Pause pressed while an epoch's snapshot was on its way showed Pause again, paused).
    if (snap.controls === page.controlsSent) setPlaying(snap.playing);
    // Not every update (a slider may be in the learner's hand), and not while the controls are ahead
    // of the server (an update trained before the new settings arrived still shows the old ones).
    if (snap.query !== page.query && page.settingsPending === 0) adopt(snap.query);
    $("step-count").textContent = snap.step.toLocaleString("en");
    $("epoch-count").textContent = short(snap.epoch);
    $("train-loss").textContent = fixed(snap.train.loss);
    $("test-loss").textContent = fixed(snap.test.loss);
    $("train-accuracy").textContent = percent(snap.train.accuracy);
    $("test-accuracy").textContent = percent(snap.test.accuracy);
    const diverged = $("diverged");
    diverged.hidden = !snap.diverged;
    if (snap.diverged) diverged.textContent = `Training diverged and is paused. ${snap.diverged}. Press Reset to start again.`;
    $("play-pause-button").disabled = Boolean(snap.diverged);
    $("step-button").disabled = Boolean(snap.diverged);
    drawNetwork(snap);
    drawOutput();
    drawChart(snap.history);
    drawFlow(snap.flow);
    if (page.neuron) refreshNeuron(snap);
    if (page.point && !snap.playing && !first) askPoint();
    page.rendered += 1;
    page.renderMs += performance.now() - started;
    // for tests and the benchmark: snapshots drawn, their total drawing time, the step shown
    document.body.dataset.snapshots = String(page.rendered);
    document.body.dataset.renderMs = page.renderMs.toFixed(1);
    document.body.dataset.step = String(snap.step);
    send({ type: "ack" });
  }

  function setPlaying(playing) {
    page.playing = playing;
    const button = $("play-pause-button");
    button.textContent = playing ? "Pause" : "Play";
    button.classList.toggle("playing", playing);
  }

  // -- the network: features, hidden layers, the output neuron, the edges between --------------------------

  function neuronName(layer, index, last) {
    // numbered from 0, as the model names its parameters and the engine's graph boxes its neurons
    return layer === last ? `Output neuron (layer ${layer})` : `Layer ${layer} neuron ${index}`;
  }

  function structureOf(snap) {
    return [page.dataVersion, snap.inputs.map((i) => i.name).join(","), snap.layers.map((l) => l.neurons.length)].join("|");
  }

  function layout(snap) {
    const width = $("network").clientWidth || 600;
    const layers = snap.layers;
    const hiddenCount = layers.length - 1;
    const rows = Math.max(page.data.features.length, ...layers.map((l) => l.neurons.length));
    const inputs = {};
    page.data.features.forEach((f, i) => { inputs[f.name] = { x: INPUT_LEFT, y: i * ROW }; });
    const left = INPUT_LEFT + TILE;
    const right = width - TILE;
    const columns = layers.map((layer, l) => {
      const x = l === hiddenCount ? right : left + ((l + 1) * (right - left)) / (hiddenCount + 1) - TILE / 2;
      return layer.neurons.map((_, j) => ({ x, y: j * ROW }));
    });
    return { width, height: rows * ROW, inputs, columns };
  }

  function drawNetwork(snap) {
    const key = structureOf(snap);
    if (key !== page.structure) {
      page.structure = key;
      buildNetwork(snap);
    }
    updateNetwork(snap);
  }

  function tile(x, y, label, data) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "node";
    button.style.left = `${x}px`;
    button.style.top = `${y}px`;
    button.style.width = button.style.height = `${TILE}px`;
    button.setAttribute("aria-label", label);
    Object.assign(button.dataset, data);
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 32;
    button.appendChild(canvas);
    return button;
  }

  function buildNetwork(snap) {
    const net = $("network");
    const geo = layout(snap);
    page.geometry = geo;
    page.hovered = null; // the tile under the mouse may be gone
    page.tags = "";
    for (const old of net.querySelectorAll(".node, .node-label, .node-tag, .bias, .neurons-control")) old.remove();
    net.style.height = `${geo.height}px`;
    const links = $("links");
    links.setAttribute("width", String(geo.width));
    links.setAttribute("height", String(geo.height));
    links.replaceChildren();
    const active = snap.inputs.map((i) => i.name);

    // the seven features: a click feeds one in or leaves it out
    for (const feature of page.data.features) {
      const { x, y } = geo.inputs[feature.name];
      const used = active.includes(feature.name);
      const node = tile(x, y, `Feature ${feature.label}${used ? "" : " (not used)"}`, { feature: feature.name });
      node.classList.toggle("inactive", !used);
      node.setAttribute("aria-pressed", String(used));
      paint(node.firstChild, feature.heatmap, 32, page.view.discretize);
      net.appendChild(node);
      const label = document.createElement("div");
      label.className = "node-label";
      label.textContent = feature.label;
      label.style.right = `${geo.width - x + 8}px`;
      label.style.top = `${y + TILE / 2 - 9}px`;
      net.appendChild(label);
    }

    // the neurons, layer by layer; the last layer is the output neuron
    const last = snap.layers.length - 1;
    geo.columns.forEach((column, l) => {
      column.forEach(({ x, y }, j) => {
        const name = neuronName(l, j, last);
        const node = tile(x, y, name, { layer: String(l), index: String(j) });
        net.appendChild(node);
        const bias = document.createElement("div");
        bias.className = "bias";
        bias.style.left = `${x - 9}px`;
        bias.style.top = `${y + TILE - 6}px`;
        bias.dataset.layer = String(l);
        bias.dataset.index = String(j);
        net.appendChild(bias);
      });
      if (l < last) net.appendChild(neuronsControl(l, column[0].x, column.length));
    });

    // the edges: each weight from its input (a feature or a neuron of the layer before) to its neuron
    const sources = active.map((name) => geo.inputs[name]);
    geo.columns.forEach((column, l) => {
      const from = l === 0 ? sources : geo.columns[l - 1];
      column.forEach((to, j) => {
        from.forEach((source, i) => {
          const spread = ((i - (from.length - 1) / 2) / from.length) * 12;
          const x0 = source.x + TILE + 2;
          const y0 = source.y + TILE / 2;
          const x1 = to.x - 2;
          const y1 = to.y + TILE / 2 + spread;
          const mid = (x0 + x1) / 2;
          const d = `M${x0},${y0} C${mid},${y0} ${mid},${y1} ${x1},${y1}`;
          const path = document.createElementNS(SVG, "path");
          path.setAttribute("d", d);
          path.setAttribute("class", "link");
          path.id = `link-${l}-${j}-${i}`;
          links.appendChild(path);
          const hover = document.createElementNS(SVG, "path");
          hover.setAttribute("d", d);
          hover.setAttribute("class", "link-hover");
          const title = document.createElementNS(SVG, "title");
          hover.appendChild(title);
          hover.id = `hover-${l}-${j}-${i}`;
          links.appendChild(hover);
        });
      });
    });
  }

  function neuronsControl(l, x, count) {
    const box = document.createElement("div");
    box.className = "neurons-control";
    box.style.left = `${x + TILE / 2 - 40}px`;
    box.style.top = "-46px";
    const add = document.createElement("button");
    add.type = "button";
    add.className = "round";
    add.textContent = "+";
    add.setAttribute("aria-label", `Add a neuron to layer ${l}`);
    add.disabled = count >= MAX_WIDTH;
    add.addEventListener("click", () => changeWidth(l, +1));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "round";
    remove.textContent = "−";
    remove.setAttribute("aria-label", `Remove a neuron from layer ${l}`);
    remove.disabled = count <= 1;
    remove.addEventListener("click", () => changeWidth(l, -1));
    const text = document.createElement("div");
    text.textContent = `${count} neuron${count === 1 ? "" : "s"}`;
    box.append(add, " ", remove, text);
    return box;
  }

  function updateNetwork(snap) {
    const net = $("network");
    const gradients = page.view.gradients;
    const last = snap.layers.length - 1;
    // in gradient view, widths and colours are relative to the largest |∂C/∂w| in the network
    let top = 0;
    if (gradients) {
      for (const layer of snap.layers) {
        for (const n of layer.neurons) for (const g of n.grads) top = Math.max(top, Math.abs(g || 0));
      }
    }
    snap.layers.forEach((layer, l) => {
      layer.neurons.forEach((n, j) => {
        const node = net.querySelector(`.node[data-layer="${l}"][data-index="${j}"]`);
        if (!node) return;
        if (l === last) paint(node.firstChild, snap.output.heatmap, snap.output.size, page.view.discretize);
        else paint(node.firstChild, n.heatmap, 32, page.view.discretize);
        node.classList.toggle("frozen", n.frozen);
        node.classList.toggle("dead", n.dead);
        node.classList.toggle("selected", Boolean(page.neuron && page.neuron.layer === l && page.neuron.index === j));
        const state = [n.frozen ? "frozen" : "", n.dead ? "dead" : ""].filter(Boolean).join(", ");
        const name = neuronName(l, j, last);
        setAttr(node, "aria-label", state ? `${name} (${state})` : name);
        setAttr(node, "title", `${name}${state ? ` (${state})` : ""}: click for its δ, to freeze or prune it`);
        const bias = net.querySelector(`.bias[data-layer="${l}"][data-index="${j}"]`);
        const shown = gradients ? (top ? (n.bias_grad || 0) / top : 0) : n.bias || 0;
        bias.style.background = colour(shown);
        setAttr(bias, "title", `bias ${short(n.bias)} (∂C/∂b ${scientific(n.bias_grad)})`);
        n.weights.forEach((w, i) => {
          const path = $(`link-${l}-${j}-${i}`);
          if (!path) return;
          const g = n.grads[i] || 0;
          let width;
          let value;
          if (gradients) {
            value = top ? g / top : 0;
            width = 1 + 9 * Math.abs(value);
          } else {
            value = w || 0;
            width = Math.min(10, 1 + (9 * Math.abs(value)) / 5); // TF: |w| 0..5 -> 1..10 px
          }
          path.style.stroke = colour(value);
          path.style.strokeWidth = width.toFixed(2);
          setText($(`hover-${l}-${j}-${i}`).firstChild, `weight ${short(w)}, ∂C/∂w ${scientific(g)}`);
        });
      });
    });
    updateTags(snap);
  }

  function updateTags(snap) {
    const net = $("network");
    const key = snap.layers.map((l) => l.neurons.map((n) => `${+n.dead}${+n.frozen}`).join("")).join("|");
    if (key === page.tags) return; // unchanged: leave the page's layout alone
    page.tags = key;
    for (const old of net.querySelectorAll(".node-tag")) old.remove();
    snap.layers.forEach((layer, l) => {
      layer.neurons.forEach((n, j) => {
        if (!n.dead && !n.frozen) return;
        const { x, y } = page.geometry.columns[l][j];
        const tag = document.createElement("div");
        tag.className = `node-tag ${n.dead ? "dead" : "frozen"}`;
        tag.textContent = n.dead ? "dead" : "frozen";
        tag.style.left = `${x + TILE - 12}px`;
        tag.style.top = `${y - 8}px`;
        net.appendChild(tag);
      });
    });
  }

  // hover: a neuron's (or a feature's) picture, enlarged onto the output panel
  $("network").addEventListener("mouseover", (event) => {
    const node = event.target.closest(".node");
    if (!node) return;
    if (node.dataset.feature) page.hovered = { kind: "input", name: node.dataset.feature };
    else if (Number(node.dataset.layer) < page.snapshot.layers.length - 1) {
      page.hovered = { kind: "neuron", layer: Number(node.dataset.layer), index: Number(node.dataset.index) };
    } else page.hovered = null;
    drawOutput();
  });

  $("network").addEventListener("mouseout", (event) => {
    if (event.target.closest(".node") && !event.relatedTarget?.closest?.(".node")) {
      page.hovered = null;
      drawOutput();
    }
  });

  $("network").addEventListener("click", (event) => {
    const node = event.target.closest(".node");
    if (!node) return;
    if (node.dataset.feature) toggleFeature(node.dataset.feature);
    else openNeuron(Number(node.dataset.layer), Number(node.dataset.index));
  });

  function drawOutput() {
    const snap = page.snapshot;
    if (!snap) return;
    paint($("output-canvas"), snap.output.heatmap, snap.output.size, page.view.discretize);
    const hover = $("hover-canvas");
    const label = $("hover-label");
    const h = page.hovered;
    let map = null;
    if (h && h.kind === "input") {
      const feature = page.data.features.find((f) => f.name === h.name);
      if (feature) map = [feature.heatmap, `Feature ${feature.label}`];
    } else if (h && h.kind === "neuron" && snap.layers[h.layer] && snap.layers[h.layer].neurons[h.index]) {
      map = [snap.layers[h.layer].neurons[h.index].heatmap, neuronName(h.layer, h.index, snap.layers.length - 1)];
    }
    hover.hidden = label.hidden = !map;
    if (map) {
      paint(hover, map[0], 32, page.view.discretize);
      label.textContent = map[1];
    }
  }

  // -- the loss chart and the gradient flow ---------------------------------------------------------------

  function drawChart(history) {
    const canvas = $("loss-chart");
    const ratio = window.devicePixelRatio || 1;
    const w = 300;
    const h = 70;
    if (canvas.width !== w * ratio) {
      canvas.width = w * ratio;
      canvas.height = h * ratio;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const series = [[history.train_loss, "#999"], [history.test_loss, "#000"]];
    let top = 0;
    for (const [values] of series) for (const v of values) if (v !== null) top = Math.max(top, v);
    const n = history.step.length;
    if (n < 2 || top === 0) return;
    for (const [values, stroke] of series) {
      ctx.beginPath();
      let started = false;
      values.forEach((v, i) => {
        if (v === null) { started = false; return; }
        const x = 2 + (i / (n - 1)) * (w - 4);
        const y = h - 3 - (v / top) * (h - 6);
        if (started) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        started = true;
      });
      ctx.strokeStyle = stroke;
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
  }

  const FLOW_LOW = -6; // log10 of the smallest mean |∂C/∂w| drawn, and of the largest
  const FLOW_HIGH = 1;
  const FLOW_HEIGHT = 72; // px: #flow-bars' height less room for the value above the bar

  function drawFlow(flow) {
    const box = $("flow-bars");
    const geo = page.geometry;
    if (box.childElementCount !== flow.length * 2) {
      box.replaceChildren();
      flow.forEach((_, l) => {
        const bar = document.createElement("div");
        bar.className = "flow-bar";
        bar.dataset.layer = String(l);
        const value = document.createElement("div");
        value.className = "flow-value";
        box.append(bar, value);
      });
    }
    const height = FLOW_HEIGHT; // a constant: reading the box's height would force a layout each update
    flow.forEach((v, l) => {
      const bar = box.children[2 * l];
      const label = box.children[2 * l + 1];
      const x = geo.columns[l][0].x + TILE / 2;
      const level = v ? (Math.log10(v) - FLOW_LOW) / (FLOW_HIGH - FLOW_LOW) : 0;
      const px = Math.max(v ? 2 : 0, Math.min(1, level) * height);
      bar.style.left = `${x - 12}px`;
      bar.style.height = `${px}px`;
      bar.classList.toggle("vanishing", Boolean(v) && v < 1e-4);
      bar.classList.toggle("exploding", v > 1);
      const name = l === flow.length - 1 ? `layer ${l} (the output)` : `layer ${l}`;
      setAttr(bar, "title", `${name}: mean |∂C/∂w| = ${scientific(v)}`);
      setAttr(bar, "aria-label", bar.title);
      setText(label, scientific(v));
      label.style.left = `${x - 30}px`;
      label.style.bottom = `${px + 1}px`;
    });
  }

  // -- the neuron panel: δ over the plane, max |grad| over time, freeze and prune ------------------------------

  function openNeuron(layer, index) {
    page.neuron = { layer, index };
    $("neuron-panel").hidden = false;
    $("neuron-summary").textContent = "Asking for its gradients…";
    askNeuron();
    if (page.snapshot) updateNetwork(page.snapshot);
  }

  function askNeuron() {
    page.neuronPending = true;
    page.neuronAsked = performance.now();
    send({ type: "neuron", ...page.neuron });
  }

  function refreshNeuron(snap) {
    const { layer, index } = page.neuron;
    if (!snap.layers[layer] || !snap.layers[layer].neurons[index]) return closeNeuron();
    // while playing, at most a few times a second: each request waits behind an epoch
    if (!page.neuronPending && (!snap.playing || performance.now() - page.neuronAsked > 400)) askNeuron();
    return undefined;
  }

  function onNeuron(message) {
    page.neuronPending = false;
    if (!page.neuron || message.layer !== page.neuron.layer || message.index !== page.neuron.index) return;
    const last = page.snapshot.layers.length - 1;
    const name = neuronName(message.layer, message.index, last);
    const heading = $("neuron-heading");
    heading.textContent = name;
    for (const [flag, text] of [[message.dead, "dead"], [message.frozen, "frozen"]]) {
      if (!flag) continue;
      const badge = document.createElement("span");
      badge.className = `badge ${text}`;
      badge.textContent = text;
      heading.appendChild(badge);
    }
    const deltas = message.delta_points.train.filter((d) => d !== null);
    const mean = deltas.length ? deltas.reduce((a, d) => a + Math.abs(d), 0) / deltas.length : 0;
    $("neuron-summary").textContent =
      `${message.activation}; ${message.dead ? "dead: its output is 0 on every training point, so no gradient reaches it. " : ""}` +
      `mean |δ| over the training points ${scientific(mean)}.`;
    paint($("delta-canvas"), message.delta.heatmap, message.delta.size);
    $("delta-scale").textContent = scientific(message.delta.scale);
    drawDeltaPoints(message.delta_points.train);
    drawGradHistory(message.max_grad_history);
    const freeze = $("freeze-button");
    freeze.textContent = message.frozen ? "Unfreeze" : "Freeze";
    freeze.dataset.frozen = String(message.frozen);
    const prune = $("prune-button");
    prune.disabled = message.layer === last || page.snapshot.layers[message.layer].neurons.length <= 1;
    prune.title = prune.disabled ? "Only a hidden neuron with others beside it can be pruned" : "Remove this neuron and its weights";
  }

  function drawDeltaPoints(deltas) {
    const svg = $("delta-points");
    svg.replaceChildren();
    const size = 220;
    const top = Math.max(...deltas.map((d) => Math.abs(d || 0)), 0);
    const e = page.data.extent;
    page.data.train.x.forEach(([a, b], i) => {
      const d = deltas[i] || 0;
      const circle = document.createElementNS(SVG, "circle");
      circle.setAttribute("cx", (((a + e) / (2 * e)) * size).toFixed(1));
      circle.setAttribute("cy", (((e - b) / (2 * e)) * size).toFixed(1));
      circle.setAttribute("r", (1 + (top ? (4 * Math.abs(d)) / top : 0)).toFixed(2));
      circle.setAttribute("fill", colour(top ? d / top : 0));
      circle.setAttribute("stroke", "rgba(0,0,0,0.5)");
      circle.setAttribute("stroke-width", "0.5");
      svg.appendChild(circle);
    });
  }

  function drawGradHistory(values) {
    const canvas = $("grad-history");
    const ctx = canvas.getContext("2d");
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const logs = values.map((v) => (v ? Math.log10(v) : null));
    const finite = logs.filter((v) => v !== null);
    ctx.fillStyle = "#999";
    ctx.font = "10px sans-serif";
    if (finite.length === 0) {
      ctx.fillText("no gradient yet: press Step or Play", 8, h / 2);
      return;
    }
    const low = Math.min(...finite);
    const high = Math.max(...finite);
    const span = Math.max(high - low, 1e-9);
    ctx.fillText(`10^${high.toFixed(1)}`, 4, 11);
    ctx.fillText(`10^${low.toFixed(1)}`, 4, h - 4);
    ctx.beginPath();
    let started = false;
    logs.forEach((v, i) => {
      if (v === null) { started = false; return; }
      const x = 44 + (logs.length > 1 ? (i / (logs.length - 1)) * (w - 50) : 0);
      const y = h - 6 - ((v - low) / span) * (h - 14);
      if (started) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      started = true;
    });
    ctx.strokeStyle = "#183d4e";
    ctx.lineWidth = 1.5;
    ctx.stroke();
    if (finite.length < 30) {
      // few updates yet: mark each one, so a single update shows
      ctx.fillStyle = "#183d4e";
      logs.forEach((v, i) => {
        if (v === null) return;
        const x = 44 + (logs.length > 1 ? (i / (logs.length - 1)) * (w - 50) : 0);
        const y = h - 6 - ((v - low) / span) * (h - 14);
        ctx.fillRect(x - 2, y - 2, 4, 4);
      });
    }
  }

  function closeNeuron() {
    page.neuron = null;
    page.neuronPending = false;
    $("neuron-panel").hidden = true;
    if (page.snapshot) updateNetwork(page.snapshot);
  }

  function closePanels() {
    closeNeuron();
    page.point = null;
    $("point-panel").hidden = true;
  }

  $("close-neuron").addEventListener("click", closeNeuron);

  $("freeze-button").addEventListener("click", () => {
    if (!page.neuron) return;
    const frozen = $("freeze-button").dataset.frozen === "true";
    send({ type: "freeze", ...page.neuron, frozen: !frozen });
    page.neuronPending = false; // the snapshot that answers asks for the panel again
  });

  $("prune-button").addEventListener("click", () => {
    if (!page.neuron) return;
    send({ type: "prune", ...page.neuron });
    closeNeuron(); // the neurons after it move up one: this one is gone
  });

  // -- exports --------------------------------------------------------------------------------------------------

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function onExport(message) {
    if (page.exportWanted === "model") download("model.json", message.model);
    if (page.exportWanted === "settings") download("settings.json", message.settings);
    page.exportWanted = null;
  }

  $("export-model").addEventListener("click", () => { page.exportWanted = "model"; send({ type: "export" }); });
  $("export-settings").addEventListener("click", () => { page.exportWanted = "settings"; send({ type: "export" }); });

  // -- the controls ----------------------------------------------------------------------------------------------

  $("play-pause-button").addEventListener("click", () => {
    if (page.playing) {
      send({ type: "pause" });
      setPlaying(false);
    } else {
      send({ type: "play" });
      setPlaying(true);
    }
  });

  $("step-button").addEventListener("click", () => {
    setPlaying(false);
    send({ type: "step" });
  });

  $("reset-button").addEventListener("click", () => {
    setPlaying(false);
    send({ type: "reset", new_weights: !$("keep-weights").checked });
  });

  $("regenerate").addEventListener("click", () => {
    page.settings.data_seed = String(Math.floor(Math.random() * 2147483647));
    sendSettings();
  });

  for (const element of document.querySelectorAll("[data-setting]")) {
    element.addEventListener("input", () => showValue(element));
    element.addEventListener("change", () => {
      page.settings[element.dataset.setting] = element.value;
      sendSettings();
    });
  }

  for (const [key, id] of Object.entries(VIEW_CONTROLS)) {
    const box = $(id);
    box.checked = page.view[key];
    box.addEventListener("change", () => {
      page.view[key] = box.checked;
      writeUrl();
      if (key === "show_test") {
        const group = document.querySelector("#data-points .test");
        if (group) group.setAttribute("display", box.checked ? "inline" : "none");
      } else if (key === "gradients") {
        $("edge-legend").textContent = box.checked
          ? "Edges: ∂C/∂w of the last step (blue positive, orange negative; width relative to the largest)"
          : "Edges: weights (blue positive, orange negative; width |w|)";
      }
      if (page.snapshot) {
        if (key === "discretize") page.structure = ""; // the features' pictures are drawn when built
        drawNetwork(page.snapshot);
        drawOutput();
      }
    });
  }

  function toggleFeature(name) {
    const order = page.data.features.map((f) => f.name);
    const active = new Set(activeFeatures());
    if (active.has(name)) {
      if (active.size === 1) return onError({ message: "The network needs at least one input feature." });
      active.delete(name);
    } else active.add(name);
    page.settings.features = order.filter((f) => active.has(f)).join(",");
    sendSettings();
    return undefined;
  }

  function changeWidth(layer, delta) {
    const hidden = hiddenLayers();
    hidden[layer] = Math.min(MAX_WIDTH, Math.max(1, hidden[layer] + delta));
    page.settings.hidden = hidden.join(",");
    sendSettings();
  }

  $("add-layer").addEventListener("click", () => {
    const hidden = hiddenLayers();
    if (hidden.length >= MAX_LAYERS) return;
    hidden.push(2);
    page.settings.hidden = hidden.join(",");
    sendSettings();
  });

  $("remove-layer").addEventListener("click", () => {
    const hidden = hiddenLayers();
    if (hidden.length === 0) return;
    hidden.pop();
    page.settings.hidden = hidden.join(",");
    sendSettings();
  });

  window.addEventListener("resize", () => {
    if (page.snapshot) {
      page.structure = "";
      drawNetwork(page.snapshot);
      drawFlow(page.snapshot.flow);
    }
  });

  readUrl();
  for (const [key, id] of Object.entries(VIEW_CONTROLS)) $(id).checked = page.view[key];
  connect();
})();
