(function () {
'use strict';
var NS = '@FG_NS@';
var svg = document.documentElement;
var LEFT = +svg.getAttributeNS(NS, 'left'), FULL = +svg.getAttributeNS(NS, 'width');
var HINT = 'Hover a frame for details, click to zoom, Ctrl-F to search, Esc to reset.';
var statusEl = document.getElementById('status');
var matchEl = document.getElementById('matched');
var resetEl = document.getElementById('reset');
var searchEl = document.getElementById('search');
var vbs = Array.prototype.slice.call(document.querySelectorAll('g.vb'));
var views = [], cur = null, zoomed = null, term = null, termText = '';
var cw = 7.3;

function num(n) {
	var s = String(Math.round(n)), out = '';
	while (s.length > 3) { out = ',' + s.slice(-3) + out; s = s.slice(0, -3); }
	return s + out;
}
function pct(part, whole) {
	return (whole > 0 ? 100 * part / whole : 0).toFixed(2) + '%';
}
/* The real advance of the frame font, for fitting names after zooms. */
function measure() {
	var probe = 'abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789';
	var t = document.createElementNS('http://www.w3.org/2000/svg', 'text');
	t.textContent = probe;
	svg.appendChild(t);
	var w = t.getComputedTextLength() / probe.length;
	svg.removeChild(t);
	if (w > 0) cw = w;
}
function init() {
	var els = document.querySelectorAll('g.view');
	for (var i = 0; i < els.length; i++) {
		var v = { el: els[i], frames: [], total: +els[i].getAttributeNS(NS, 'total'),
			unit: els[i].getAttributeNS(NS, 'unit') };
		var gs = els[i].querySelectorAll('g.f');
		for (var j = 0; j < gs.length; j++) {
			var g = gs[j], lines = g.querySelector('title').textContent.split('\n');
			var f = { g: g, name: lines[0], info: lines.slice(1).join(' '),
				chars: Array.from(lines[0]),
				o: +g.getAttributeNS(NS, 'o'), w: +g.getAttributeNS(NS, 'w'),
				d: +g.getAttributeNS(NS, 'd'),
				r: g.querySelector('rect'), t: g.querySelector('text') };
			g._fg = f;
			v.frames.push(f);
		}
		views.push(v);
	}
}
/* Same rule as the C writer: whole name, or a prefix and '..', or nothing. */
function fit(chars, w) {
	var n = Math.floor((w - 6) / cw);
	if (chars.length <= n) return chars.join('');
	return n < 3 ? '' : chars.slice(0, n - 2).join('') + '..';
}
function place(f, x, w) {
	f.r.setAttribute('x', x.toFixed(2));
	f.r.setAttribute('width', w.toFixed(2));
	f.t.setAttribute('x', (x + 3).toFixed(2));
	f.t.textContent = fit(f.chars, w);
}
/* Unzoomed, or zoomed to one frame: it and everything above it fill the
 * width, the frames below it (its callers) are shown faded at full width,
 * the rest is hidden. Intervals of one depth never overlap, so
 * containment in the zoomed frame's interval finds its descendants. */
function layout() {
	var z = zoomed, O = z ? z.o : 0, W = z ? z.w : cur.total, D = z ? z.d : 0;
	cur.frames.forEach(function (f) {
		var cls = f.g.classList;
		if (z && f.d < D && f.o <= O && f.o + f.w >= O + W) {
			cls.remove('hid');
			cls.add('anc');
			place(f, LEFT, FULL);
		} else if (W > 0 && f.d >= D && f.o >= O && f.o + f.w <= O + W) {
			cls.remove('hid', 'anc');
			place(f, LEFT + (f.o - O) / W * FULL, f.w / W * FULL);
		} else {
			cls.add('hid');
		}
	});
	resetEl.classList.toggle('hid', !z);
}
function zoom(f) { zoomed = f; layout(); }
function unzoom() { zoomed = null; layout(); }
/* The matched share counts nested matches once: after sorting by
 * offset, only the part of each interval past the furthest end seen
 * so far is new. */
function highlight() {
	var hits = [];
	cur.frames.forEach(function (f) {
		var hit = term !== null && term.test(f.name);
		f.g.classList.toggle('hl', hit);
		if (hit) hits.push(f);
	});
	searchEl.textContent = term ? 'Reset search' : 'Search';
	if (!term) { matchEl.textContent = ''; return; }
	hits.sort(function (a, b) { return a.o - b.o || b.w - a.w; });
	var sum = 0, end = 0;
	hits.forEach(function (f) {
		var e = f.o + f.w;
		if (e > end) { sum += e - Math.max(f.o, end); end = e; }
	});
	matchEl.textContent = 'Matched: ' + pct(sum, cur.total) + ' (' + num(sum) + ' ' +
		cur.unit + ' in ' + hits.length + ' frames)';
}
/* A regular expression, or the literal text when it is not one. */
function setSearch(input) {
	if (input === null) return;
	if (input === '') {
		term = null;
	} else {
		termText = input;
		try {
			term = new RegExp(input);
		} catch (e) {
			term = { test: function (s) { return s.indexOf(input) >= 0; } };
		}
	}
	highlight();
}
function ask() {
	setSearch(window.prompt('Highlight frames matching (regular expression):', termText));
}
function show(i) {
	views.forEach(function (v, j) { v.el.classList.toggle('hid', j !== i); });
	vbs.forEach(function (b, j) { b.classList.toggle('on', j === i); });
	cur = views[i];
	zoomed = null;
	layout();
	highlight();
}
function frameOf(e) {
	var g = e.target.closest ? e.target.closest('g.f') : null;
	return g ? g._fg : null;
}

measure();
init();
if (!views.length) return;
statusEl.textContent = HINT;
show(0);
svg.addEventListener('click', function (e) {
	var b = e.target.closest ? e.target.closest('.btn') : null;
	if (b === resetEl) {
		unzoom();
	} else if (b === searchEl) {
		if (term) setSearch(''); else ask();
	} else if (b) {
		if (vbs.indexOf(b) >= 0) show(vbs.indexOf(b));
	} else if (frameOf(e)) {
		zoom(frameOf(e));
	}
});
svg.addEventListener('mouseover', function (e) {
	var f = frameOf(e);
	if (f) statusEl.textContent = fit(Array.from(f.name + '  ' + f.info), FULL);
});
svg.addEventListener('mouseout', function (e) {
	if (frameOf(e)) statusEl.textContent = HINT;
});
window.addEventListener('keydown', function (e) {
	if ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) {
		e.preventDefault();
		ask();
	} else if (e.key === 'Escape') {
		setSearch('');
		unzoom();
	}
});
})();
