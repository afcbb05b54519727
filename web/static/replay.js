/* VoiceRehearse session replay: waveform (wavesurfer.js when installed, else the plain audio element),
   flags and comments as regions, word highlighting, click-to-seek, comments through the JSON API,
   loudness/pitch contours against the baseline band. User text is only ever set with textContent. */
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('replay-data').textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const hasWS = typeof window.WaveSurfer !== 'undefined';
  const SVGNS = 'http://www.w3.org/2000/svg';
  // colours come from the server (voicerehearse.palette): each flag carries its own, the marks are in data.colours
  const COMMENT_COLOUR = alpha(data.colours.comment, 0.45);
  const PROMPT_COLOUR = alpha(data.colours.prompt, 0.22);
  const LABEL_STYLE = 'display:inline-block;font:10px/1.2 system-ui,sans-serif;padding:0 3px;color:#102a43;' +
    'background:rgba(255,255,255,.8);border-radius:3px;white-space:nowrap;pointer-events:none';

  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }

  const players = {};
  window.vr = { players: players };

  function fmt(t) { return (Math.round(t * 100) / 100).toFixed(2); }

  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, 'Accept': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || ('HTTP ' + r.status));
        return j;
      });
    });
  }

  function setupTurn(turn) {
    const section = document.getElementById('turn-' + turn.id);
    const audio = document.getElementById('audio-' + turn.id);
    const playBtn = section.querySelector('button.play');
    const clock = section.querySelector('.clock');
    const words = Array.prototype.slice.call(section.querySelectorAll('.word[data-start]'));
    const p = { turn: turn, audio: audio, ws: null, regions: null, commentRegions: [], comments: turn.comments.slice() };
    players[turn.id] = p;

    if (hasWS && !turn.missing) {
      const opts = {
        container: '#wave-' + turn.id, media: audio, height: 132, normalize: true,
        waveColor: '#9fb3c8', progressColor: '#486581', cursorColor: '#102a43', cursorWidth: 2,
        barWidth: 2, barGap: 1, barRadius: 1, dragToSeek: !data.can_edit  // coaches drag to mark a span
      };
      if (turn.peaks && turn.duration) { opts.peaks = turn.peaks; opts.duration = turn.duration; }
      if (turn.peaks && turn.peaks.length === 2) {  // a two-channel call: agent and customer drawn apart
        opts.height = 80;
        opts.splitChannels = [{ waveColor: '#7f9cc0', progressColor: '#334e68' },
                              { waveColor: '#c3b2d9', progressColor: '#6b46c1' }];
        const names = document.createElement('p');
        names.className = 'hint channel-names';
        names.textContent = 'Top: ' + (turn.channels[0] || 'channel 0') + ' · bottom: ' + (turn.channels[1] || 'channel 1');
        document.getElementById('wave-' + turn.id).before(names);
      }
      p.ws = window.WaveSurfer.create(opts);
      p.regions = p.ws.registerPlugin(window.WaveSurfer.Regions.create());
      p.ws.registerPlugin(window.WaveSurfer.Timeline.create({ container: '#timeline-' + turn.id }));
      const addFixedRegions = function () {
        if (turn.prompt && turn.prompt[1] != null) {
          const pr = p.regions.addRegion({ start: turn.prompt[0], end: turn.prompt[1], color: PROMPT_COLOUR, drag: false, resize: false, id: 'prompt-' + turn.id });
          if (pr.element) pr.element.style.pointerEvents = 'none';  // clicks inside still seek to the click
        }
        // overlapping flags get their own lanes in the top 78 % of the waveform; comments use the bottom strip
        const lanes = [];
        const placed = turn.flags.map(function (f, i) {
          const end = (f.end != null && f.end > f.start) ? f.end : f.start + 0.08;
          let lane = lanes.findIndex(function (lastEnd) { return lastEnd <= f.start; });
          if (lane < 0) { lane = lanes.length; lanes.push(end); } else { lanes[lane] = end; }
          return { f: f, i: i, end: end, lane: lane };
        });
        const laneH = 78 / Math.max(lanes.length, 1);
        // a label is written only where it fits before the next one in its lane (no collisions); the
        // event list and the tooltip still name every region
        const wavePx = document.getElementById('wave-' + turn.id).clientWidth || 800;
        const dur = turn.duration || 1;
        const labelEnd = [];
        placed.forEach(function (q) {
          const label = document.createElement('span');
          label.className = 'region-label';
          // the regions live in wavesurfer's shadow DOM, out of reach of app.css: the label is styled here
          label.style.cssText = LABEL_STYLE;
          const name = q.f.name || q.f.kind.replace(/_/g, ' ');
          const x = q.f.start / dur * wavePx, w = name.length * 6 + 10;
          if (labelEnd[q.lane] === undefined || x >= labelEnd[q.lane]) {
            label.textContent = name;
            labelEnd[q.lane] = x + w;
          } else {
            label.classList.add('hidden-label');
            label.style.display = 'none';
          }
          label.title = name + ': ' + q.f.message;
          const r = p.regions.addRegion({ id: 'flag-' + turn.id + '-' + q.i, start: q.f.start, end: q.end,
                                          color: alpha(q.f.colour, 0.35), content: label, drag: false, resize: false });
          r.flag = q.f;
          if (r.element) { r.element.style.top = (q.lane * laneH) + '%'; r.element.style.height = laneH + '%'; }
        });
        drawCommentRegions(p);
      };
      p.ws.once('ready', addFixedRegions);
      p.regions.on('region-clicked', function (region, e) {
        e.stopPropagation();
        if (region.flag) playFrom(p, region.flag.play); else seek(p, region.start);
      });
      if (data.can_edit) {
        // drag across the waveform to pin a comment to that span: it fills the form's from/to fields
        p.regions.enableDragSelection({ color: alpha(data.colours.comment, 0.18), id: 'draft-' + turn.id }, 3);
        p.regions.on('region-created', function (region) {
          if (!region.id || region.id.indexOf('draft-') !== 0) return;
          if (p.draft && p.draft !== region) p.draft.remove();
          p.draft = region;
          const form = section.querySelector('form.comment-form');
          const fill = function () {
            form.elements.start_s.value = fmt(region.start);
            form.elements.end_s.value = fmt(region.end);
          };
          fill();
          region.on('update-end', fill);
          form.elements.text.focus();
        });
      }
    } else {
      audio.controls = true;
      document.getElementById('wave-' + turn.id).style.display = 'none';
      document.getElementById('timeline-' + turn.id).style.display = 'none';
    }

    playBtn.addEventListener('click', function () {
      active = p;
      if (audio.paused) safePlay(audio); else audio.pause();
    });
    const rate = section.querySelector('select.rate');
    if (rate) rate.addEventListener('change', function () {
      audio.playbackRate = parseFloat(rate.value) || 1;
      if (p.ws && p.ws.setPlaybackRate) p.ws.setPlaybackRate(audio.playbackRate, true);
    });
    const skip = section.querySelector('input.skip-silence');
    if (skip) skip.addEventListener('change', function () { p.skipSilence = skip.checked; });
    audio.addEventListener('play', function () { playBtn.textContent = '❚❚ Pause'; loop(); });
    audio.addEventListener('pause', function () { playBtn.textContent = '▶ Play'; update(); });
    audio.addEventListener('seeked', update);
    audio.addEventListener('timeupdate', update);
    let current = null;
    function update() {
      let t = audio.currentTime || 0;
      if (p.skipSilence && !audio.paused) {
        const next = silenceEnd(turn.speech || [], t);
        if (next != null) { audio.currentTime = next; t = next; }
      }
      clock.textContent = fmt(t) + ' s' + (turn.duration ? ' / ' + fmt(turn.duration) + ' s' : '');
      let hit = null;
      for (let i = 0; i < words.length; i++) {
        const s = parseFloat(words[i].dataset.start), e = parseFloat(words[i].dataset.end);
        if (t >= s && t < e) { hit = words[i]; break; }
      }
      if (hit !== current) {
        if (current) current.classList.remove('current');
        if (hit) hit.classList.add('current');
        current = hit;
      }
      if (p.cursor) p.cursor(t);
    }
    function loop() { update(); if (!audio.paused) requestAnimationFrame(loop); }
    p.update = update;

    words.forEach(function (w) {
      const go = function () { seek(p, parseFloat(w.dataset.start)); };
      w.addEventListener('click', go);
      w.addEventListener('keydown', function (e) { if (e.key === 'Enter') go(); });
    });
    setupComments(p, section);
    drawContour(p);
    update();
  }

  // inside a silence longer than 0.6 s (between spans of speech): where the next speech starts, else null
  function silenceEnd(spans, t) {
    for (let i = 0; i < spans.length; i++) {
      if (t < spans[i][0]) {
        const prevEnd = i ? spans[i - 1][1] : 0;
        return (spans[i][0] - Math.max(prevEnd, t) > 0.6 && t >= prevEnd + 0.15) ? spans[i][0] - 0.15 : null;
      }
      if (t <= spans[i][1]) return null;
    }
    return null;
  }

  let active = null;  // the turn the keyboard controls: the last one played or clicked
  function playFrom(p, t) {
    active = p;
    seek(p, t);
    safePlay(p.audio);
  }
  // play() answers with a promise that fails when a pause comes first or autoplay is refused: never an error
  function safePlay(audio) {
    const go = audio.play();
    if (go && go.catch) go.catch(function () { /* the playhead is there; the listener presses play again */ });
  }

  function seek(p, t) {
    const dur = p.turn.duration || p.audio.duration || 0;
    t = Math.max(0, dur ? Math.min(t, dur) : t);
    if (p.ws) p.ws.setTime(t); else p.audio.currentTime = t;
    p.audio.currentTime = t;
    if (p.update) p.update();
  }

  // [data-play] buttons (top moments, events, scorecard evidence) play from a little before the moment;
  // other [data-seek] buttons (comments) seek their turn
  document.addEventListener('click', function (e) {
    const btn = e.target.closest('[data-play], [data-seek]');
    if (!btn) return;
    const p = players[btn.dataset.turn];
    if (!p) return;
    active = p;
    if (btn.dataset.play !== undefined) {
      playFrom(p, parseFloat(btn.dataset.play));
      if (btn.classList.contains('moment-play') || btn.classList.contains('evidence')) {
        document.getElementById('turn-' + p.turn.id).scrollIntoView({ block: 'start', behavior: 'instant' });
      }
    } else {
      seek(p, parseFloat(btn.dataset.seek));
    }
  });

  // keyboard: space play/pause, arrows 5 s, j / k the next / previous timed event (played from before it)
  document.addEventListener('keydown', function (e) {
    const tag = (e.target.tagName || '').toLowerCase();
    if (tag === 'input' || tag === 'textarea' || tag === 'select' || e.target.isContentEditable) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const p = active || players[data.turns.length ? data.turns[0].id : ''];
    if (!p) return;
    const t = p.audio.currentTime || 0, lead = data.lead_in_s || 0;
    if (e.key === ' ' || e.code === 'Space') {
      if (tag === 'button') return;  // the focused button's own click
      e.preventDefault();
      active = p;
      if (p.audio.paused) safePlay(p.audio); else p.audio.pause();
    } else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      e.preventDefault();
      seek(p, t + (e.key === 'ArrowRight' ? 5 : -5));
    } else if (e.key === 'j' || e.key === 'k') {
      const flags = p.turn.flags.slice().sort(function (a, b) { return a.start - b.start; });
      const target = e.key === 'j'
        ? flags.find(function (f) { return f.start > t + lead + 0.01; })
        : flags.filter(function (f) { return f.start < t + lead - 0.01 - (p.audio.paused ? 0 : 0.3); }).pop();
      if (target) { e.preventDefault(); seek(p, target.play != null ? target.play : target.start); p.lastFlag = target; }
    }
  });

  // ---------------------------------------------------------------- comments
  function drawCommentRegions(p) {
    if (!p.regions) return;
    p.commentRegions.forEach(function (r) { r.remove(); });
    p.commentRegions = p.comments.map(function (c) {
      const label = document.createElement('span');
      label.className = 'region-label comment-label';
      label.style.cssText = LABEL_STYLE + ';color:#1a4971';
      label.textContent = c.text.length > 40 ? c.text.slice(0, 39) + '…' : c.text;
      label.title = c.text;
      const end = (c.end_s != null && c.end_s > c.start_s) ? c.end_s : c.start_s + 0.06;
      const r = p.regions.addRegion({ id: 'comment-' + c.id, start: c.start_s, end: end, color: COMMENT_COLOUR,
                                      content: label, drag: false, resize: false });
      if (r.element) { r.element.style.top = '80%'; r.element.style.height = '20%'; }
      return r;
    });
  }

  function renderComments(p) {
    const ul = document.getElementById('comments-' + p.turn.id);
    ul.textContent = '';
    if (!p.comments.length) {
      const li = document.createElement('li');
      li.className = 'hint empty-comments';
      li.textContent = 'No comments yet.';
      ul.appendChild(li);
    }
    p.comments.sort(function (a, b) { return a.start_s - b.start_s; });
    p.comments.forEach(function (c) {
      const li = document.createElement('li');
      li.dataset.id = c.id;
      const when = document.createElement('button');
      when.type = 'button'; when.className = 'seek';
      when.dataset.turn = p.turn.id; when.dataset.seek = c.start_s;
      when.textContent = fmt(c.start_s) + ' s' + (c.end_s != null ? '–' + fmt(c.end_s) + ' s' : '');
      const text = document.createElement('span');
      text.className = 'text'; text.textContent = c.text;
      li.append(when, ' ', text);
      if (c.author) { const a = document.createElement('span'); a.className = 'hint'; a.textContent = ' · ' + c.author; li.append(a); }
      const thread = document.createElement('ul');
      thread.className = 'replies';
      (c.replies || []).forEach(function (r) {
        const item = document.createElement('li');
        item.textContent = (r.author ? r.author + ': ' : '') + r.text;
        thread.appendChild(item);
      });
      const replyBtn = document.createElement('button');
      replyBtn.type = 'button'; replyBtn.className = 'link reply-comment'; replyBtn.textContent = 'reply';
      replyBtn.addEventListener('click', function () {
        if (li.querySelector('input.reply-text')) return;
        const input = document.createElement('input');
        input.className = 'reply-text'; input.maxLength = 2000; input.placeholder = 'Your reply';
        input.setAttribute('aria-label', 'Reply to this comment');
        const send = document.createElement('button'); send.type = 'button'; send.textContent = 'send'; send.className = 'send-reply';
        const err = document.createElement('span'); err.className = 'form-error';
        send.addEventListener('click', function () {
          api('POST', data.reply_url.replace('{id}', c.id), { text: input.value }).then(function (j) {
            c.replies = (c.replies || []).concat([j.reply]); renderComments(p);
          }).catch(function (e2) { err.textContent = e2.message; });
        });
        li.append(' ', input, ' ', send, ' ', err);
        input.focus();
      });
      li.append(' ', replyBtn);
      if (data.can_edit) {
        const edit = document.createElement('button');
        edit.type = 'button'; edit.className = 'link edit-comment'; edit.textContent = 'edit';
        edit.addEventListener('click', function () { editComment(p, c, li); });
        const del = document.createElement('button');
        del.type = 'button'; del.className = 'link delete-comment'; del.textContent = 'delete';
        del.addEventListener('click', function () {
          if (!window.confirm('Delete this comment?')) return;
          api('DELETE', '/api/comments/' + c.id).then(function () {
            p.comments = p.comments.filter(function (x) { return x.id !== c.id; });
            renderComments(p); drawCommentRegions(p);
          }).catch(function (err) { window.alert(err.message); });
        });
        li.append(' ', edit, ' ', del);
      }
      li.appendChild(thread);
      ul.appendChild(li);
    });
  }

  function editComment(p, c, li) {
    li.textContent = '';
    const field = function (value, label) {
      const input = document.createElement('input');
      input.type = 'number'; input.step = '0.01'; input.min = '0'; input.className = 'edit-time';
      input.value = value == null ? '' : fmt(value); input.setAttribute('aria-label', label);
      return input;
    };
    const start = field(c.start_s, 'from (s)'), end = field(c.end_s, 'to (s)');
    end.placeholder = 'to';
    const input = document.createElement('input');
    input.className = 'comment-text edit-text'; input.value = c.text; input.maxLength = 2000;
    const save = document.createElement('button'); save.type = 'button'; save.textContent = 'save'; save.className = 'save-comment';
    const cancel = document.createElement('button'); cancel.type = 'button'; cancel.textContent = 'cancel'; cancel.className = 'link';
    const err = document.createElement('span'); err.className = 'form-error';
    li.append(start, '–', end, ' s ', input, ' ', save, ' ', cancel, ' ', err);
    input.focus();
    cancel.addEventListener('click', function () { renderComments(p); });
    save.addEventListener('click', function () {
      const body = { text: input.value, start_s: start.value, end_s: end.value === '' ? null : end.value };
      api('PATCH', '/api/comments/' + c.id, body).then(function (j) {
        Object.assign(c, j.comment); renderComments(p); drawCommentRegions(p);
      }).catch(function (e) { err.textContent = e.message; });
    });
  }

  function setupComments(p, section) {
    renderComments(p);
    const form = section.querySelector('form.comment-form');
    if (!form) return;
    const err = form.querySelector('.form-error');
    form.querySelector('.use-playhead').addEventListener('click', function () {
      form.elements.start_s.value = fmt(p.audio.currentTime || 0);
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      err.textContent = '';
      const body = { start_s: form.elements.start_s.value, text: form.elements.text.value };
      if (form.elements.end_s.value !== '') body.end_s = form.elements.end_s.value;
      api('POST', p.turn.comments_url, body).then(function (j) {
        if (p.draft) { p.draft.remove(); p.draft = null; }
        p.comments.push(j.comment);
        renderComments(p); drawCommentRegions(p);
        form.elements.text.value = ''; form.elements.end_s.value = '';
      }).catch(function (e2) { err.textContent = e2.message; });
    });
  }

  // ---------------------------------------------------------------- contours
  function el(name, attrs, text) {
    const n = document.createElementNS(SVGNS, name);
    Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text != null) n.textContent = text;
    return n;
  }

  function drawContour(p) {
    const box = document.getElementById('contour-' + p.turn.id);
    if (p.turn.missing) return;
    fetch(p.turn.contour, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) {
        if (!c) return;
        const W = 1000, H = 150, dur = c.duration || p.turn.duration || 1;
        const svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, width: '100%', preserveAspectRatio: 'none', class: 'contour-svg', role: 'img' });
        const x = function (t) { return t / dur * W; };
        function lane(top, h, pts, band, centre, lo, hi, colour, name, unit) {
          const y = function (v) { return top + h - (v - lo) / (hi - lo) * h; };
          if (band) svg.appendChild(el('rect', { x: 0, width: W, y: y(band[1]), height: Math.max(1, y(band[0]) - y(band[1])), class: 'band' }));
          if (centre != null) svg.appendChild(el('line', { x1: 0, x2: W, y1: y(centre), y2: y(centre), class: 'baseline' }));
          let d = '', last = -1;
          pts.forEach(function (pt) {
            d += ((last < 0 || pt[0] - last > (c.join_s || 0.12)) ? 'M' : 'L') + x(pt[0]).toFixed(1) + ',' + y(Math.min(hi, Math.max(lo, pt[1]))).toFixed(1);
            last = pt[0];
          });
          if (d) svg.appendChild(el('path', { d: d, fill: 'none', stroke: colour, 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke' }));
          // y ticks: the lane's round top and bottom values, at the right edge
          [lo, hi].forEach(function (v, k) {
            const label = String(Math.round(v)) === '-0' ? '0' : String(Math.round(v));
            svg.appendChild(el('text', { x: W - 4, y: k ? top + 10 : top + h - 2, class: 'lane-tick', 'text-anchor': 'end' }, label));
          });
          svg.appendChild(el('text', { x: 4, y: top + 11, class: 'lane-label' }, name + (band ? ' · green band: baseline ' + unit + ' (dashed: baseline)' : ' · no baseline')));
        }
        const lv = c.loudness.map(function (q) { return q[1]; });
        const lb = c.baseline.loudness_band;
        const llo = Math.min.apply(null, lv.concat([lb[0]])) - 3, lhi = Math.max.apply(null, lv.concat([lb[1]])) + 3;
        const sign = function (v) { return (v > 0 ? '+' : '') + (Math.round(v * 10) / 10); };
        lane(4, 64, c.loudness, lb, c.baseline.loudness_db, llo, lhi, '#2b6cb0', 'loudness (dBFS)',
             sign(lb[0] - c.baseline.loudness_db) + ' to ' + sign(lb[1] - c.baseline.loudness_db) + ' dB');
        if (c.pitch.length) {
          // robust range (5th to 95th percentile) so a few octave jumps do not flatten the line
          const pv = c.pitch.map(function (q) { return q[1]; }).sort(function (a, b) { return a - b; });
          const q5 = pv[Math.floor(pv.length * 0.05)], q95 = pv[Math.min(pv.length - 1, Math.floor(pv.length * 0.95))];
          const pb = c.baseline.pitch_band;
          const plo = Math.min.apply(null, [q5].concat(pb ? [pb[0]] : [])) * 0.85, phi = Math.max.apply(null, [q95].concat(pb ? [pb[1]] : [])) * 1.15;
          const st = function (hz) { return sign(12 * Math.log2(hz / c.baseline.pitch_hz)); };
          lane(78, 64, c.pitch, pb, c.baseline.pitch_hz, plo, phi, '#805ad5', 'pitch (Hz)',
               pb ? st(pb[0]) + ' to ' + st(pb[1]) + ' st' : '');
        }
        const cursor = el('line', { x1: 0, x2: 0, y1: 0, y2: H, class: 'contour-cursor', 'vector-effect': 'non-scaling-stroke' });
        svg.appendChild(cursor);
        svg.addEventListener('click', function (e) {
          const r = svg.getBoundingClientRect();
          seek(p, (e.clientX - r.left) / r.width * dur);
        });
        p.cursor = function (t) { const cx = x(t).toFixed(1); cursor.setAttribute('x1', cx); cursor.setAttribute('x2', cx); };
        box.appendChild(svg);
        p.cursor(p.audio.currentTime || 0);
      })
      .catch(function () { /* contours are an extra: the page works without them */ });
  }

  data.turns.forEach(setupTurn);
})();
