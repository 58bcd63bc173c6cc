/* The hall display board (queue/board/board.html): live updates and the call chime.
 *
 * The page works without this script (a <noscript> meta refresh reloads it every 10 s).
 * With it, the board follows the server's event stream (EventSource, which reconnects by
 * itself when the server ends a stream), redraws the counters, the latest calls and the
 * waiting count, and on every new call (or recall) plays a short chime with WebAudio and
 * announces it to screen readers. Browsers refuse to play sound before someone touched the
 * page, so a button asks for one click when the audio is still suspended.
 * Everything is written with textContent: nothing from the server is parsed as HTML.
 */
(function () {
  "use strict";

  var root = document.getElementById("board");
  if (!root) {
    return;
  }
  var data = root.dataset;
  var lastKey = data.latestKey || "";
  var audio = null;
  var soundButton = document.getElementById("board-sound");
  var liveNote = document.getElementById("board-live");

  // --- Sound ------------------------------------------------------------------------------

  function audioContext() {
    if (audio === null) {
      var Ctor = window.AudioContext || window.webkitAudioContext;
      if (!Ctor) {
        return null;
      }
      audio = new Ctor();
    }
    return audio;
  }

  function updateSoundHint() {
    var ctx = audioContext();
    if (soundButton) {
      soundButton.hidden = !ctx || ctx.state === "running";
    }
  }

  function enableSound() {
    var ctx = audioContext();
    if (ctx && ctx.state !== "running") {
      ctx.resume().then(updateSoundHint, updateSoundHint);
    }
  }

  function tone(ctx, frequency, start, length) {
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.4, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(start);
    osc.stop(start + length + 0.05);
  }

  function chime() {
    var ctx = audioContext();
    root.dataset.chimes = String(Number(root.dataset.chimes || 0) + 1);
    if (!ctx || ctx.state !== "running") {
      updateSoundHint();
      return;
    }
    var now = ctx.currentTime;
    tone(ctx, 880, now, 0.45); // "ding"
    tone(ctx, 660, now + 0.35, 0.6); // "dong"
  }

  // --- Drawing ----------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function statusLabel(status) {
    if (status === "called") {
      return data.labelCalled;
    }
    if (status === "serving") {
      return data.labelServing;
    }
    return data.labelIdle;
  }

  function drawCounters(counters) {
    var list = document.getElementById("board-counters");
    var items = [];
    counters.forEach(function (counter) {
      var cls = "counter-tile";
      if (counter.status) {
        cls += " is-" + counter.status;
      }
      if (counter.latest) {
        cls += " is-latest";
      }
      var li = el("li", cls);
      li.dataset.counterId = String(counter.id);
      li.appendChild(el("span", "counter-name", counter.name));
      li.appendChild(el("span", "counter-number", counter.number || "—"));
      li.appendChild(el("span", "counter-status", statusLabel(counter.status)));
      items.push(li);
    });
    if (!items.length) {
      items.push(el("li", "counter-empty", data.labelNoCounter));
    }
    list.replaceChildren.apply(list, items);
  }

  function drawLatest(latest) {
    var list = document.getElementById("board-latest");
    var items = latest.map(function (call, i) {
      var li = el("li", i === 0 ? "is-latest" : "");
      li.appendChild(el("span", "call-number", call.number));
      li.appendChild(el("span", "call-counter", call.counter));
      li.appendChild(el("span", "call-time", call.time));
      return li;
    });
    if (!items.length) {
      items.push(el("li", "call-empty", data.labelNoCall));
    }
    list.replaceChildren.apply(list, items);
  }

  function announce(call) {
    var text = (data.labelAnnounce || "")
      .replace("%(number)s", call.number)
      .replace("%(counter)s", call.counter);
    document.getElementById("board-announce").textContent = text;
  }

  function flash() {
    var tiles = document.querySelectorAll("#board-counters .is-latest");
    tiles.forEach(function (tile) {
      tile.classList.add("flash");
      window.setTimeout(function () {
        tile.classList.remove("flash");
      }, 10000);
    });
  }

  function render(state) {
    if (state.date && data.date && state.date !== data.date) {
      // A new day on the mall's clock: reload once for the new date in the header.
      window.location.reload();
      return;
    }
    drawCounters(state.counters || []);
    drawLatest(state.latest || []);
    document.getElementById("board-waiting").textContent = String(state.waiting || 0);
    var key = state.latest_key || "";
    if (key && key !== lastKey && state.latest && state.latest.length) {
      // Only a call newer than the one shown chimes: a redraw of the same board is silent.
      flash();
      announce(state.latest[0]);
      chime();
    }
    lastKey = key;
    root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
  }

  // --- Clock ------------------------------------------------------------------------------

  function tickClock() {
    var clock = document.getElementById("board-clock");
    if (!clock || !window.Intl) {
      return;
    }
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-GB", {
        hour: "2-digit",
        minute: "2-digit",
        hourCycle: "h23",
        timeZone: data.zone || undefined,
      })
        .formatToParts(new Date())
        .forEach(function (part) {
          parts[part.type] = part.value;
        });
      // The same "HH:MM" the server wrote, in the mall's own zone whatever the TV's setting.
      clock.textContent = parts.hour + ":" + parts.minute;
    } catch (e) {
      // An unknown zone name: keep the server's time.
    }
  }

  // --- Live updates -----------------------------------------------------------------------

  function showLive(live) {
    if (!liveNote) {
      return;
    }
    liveNote.hidden = false;
    liveNote.textContent = live ? data.labelLive : data.labelReconnecting;
    liveNote.classList.toggle("is-down", !live);
    root.dataset.live = live ? "1" : "0";
  }

  function poll() {
    // Browsers without EventSource: ask for the state every 10 s.
    fetch(data.statusUrl, { cache: "no-store", credentials: "omit" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (state) {
        if (state) {
          render(state);
        }
      })
      .catch(function () {})
      .then(function () {
        window.setTimeout(poll, 10000);
      });
  }

  function follow() {
    if (!window.EventSource) {
      poll();
      return;
    }
    var source = new EventSource(data.eventsUrl);
    source.addEventListener("board", function (event) {
      showLive(true);
      render(JSON.parse(event.data));
    });
    source.addEventListener("open", function () {
      showLive(true);
    });
    source.addEventListener("error", function () {
      // The server ends each stream after a while; EventSource reconnects by itself.
      showLive(false);
    });
  }

  if (soundButton) {
    soundButton.addEventListener("click", enableSound);
  }
  // Any touch of the page (a remote's OK button, a mouse click) unlocks the sound too.
  document.addEventListener("click", enableSound);
  document.addEventListener("keydown", enableSound);
  updateSoundHint();
  tickClock();
  window.setInterval(tickClock, 15000);
  follow();
})();
