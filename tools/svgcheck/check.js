// SPDX-License-Identifier: MIT
// Opens a gilscope flame graph SVG in headless Chromium and uses it as a
// person would: screenshot, names visible as text, hover, click to zoom and
// reset, Ctrl-F search, view switching. Exits 1 on any failure.
//   node check.js FILE.svg SCREENSHOT.png NAME [NAME...]
'use strict';

const path = require('path');
const { chromium } = require('playwright-core');

const HL_FILL = 'rgb(214, 62, 232)'; // .f.hl > rect in user/render/flamegraph.css
const failures = [];

function fail(msg) {
	failures.push(msg);
	console.error('FAIL: ' + msg);
}

function ok(msg) {
	console.log('ok: ' + msg);
}

function escapeRegExp(s) {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// The frames of the shown view, as the page sees them.
async function visibleFrames(page) {
	return page.evaluate(() => {
		const out = [];
		const view = document.querySelector('g.view:not(.hid)');
		if (!view)
			return out;
		for (const g of view.querySelectorAll('g.f')) {
			const r = g.querySelector('rect');
			const t = g.querySelector('text');
			const box = r.getBoundingClientRect();
			const shown = getComputedStyle(g).display !== 'none' && box.width > 0;
			out.push({
				name: g.querySelector('title').textContent.split('\n')[0],
				depth: +g.getAttributeNS('urn:x-gilscope:flamegraph', 'd'),
				width: +r.getAttribute('width'),
				text: t.textContent,
				textShown: shown && t.getBoundingClientRect().width > 0,
				shown,
				hl: g.classList.contains('hl'),
				fill: getComputedStyle(r).fill,
				cx: box.x + box.width / 2,
				cy: box.y + box.height / 2,
			});
		}
		return out;
	});
}

async function viewCount(page) {
	return page.evaluate(() => document.querySelectorAll('g.vb').length);
}

async function shownView(page) {
	return page.evaluate(() => {
		const v = document.querySelectorAll('g.view');
		const shown = [];
		v.forEach((el, i) => {
			if (getComputedStyle(el).display !== 'none')
				shown.push(i);
		});
		return shown;
	});
}

async function switchView(page, i) {
	const n = await viewCount(page);
	if (n === 0)
		return;
	const b = page.locator('#vb' + i);
	const box = await b.boundingBox();
	await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}

async function main() {
	const [svgFile, pngFile, ...names] = process.argv.slice(2);
	if (!svgFile || !pngFile || !names.length) {
		console.error('usage: node check.js FILE.svg SCREENSHOT.png NAME [NAME...]');
		process.exit(2);
	}
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
		       '--no-first-run', '--disable-background-networking',
		       '--disable-component-update', '--disable-sync'],
		timeout: 60000,
	});
	try {
		await run(browser, svgFile, pngFile, names);
	} finally {
		await browser.close();
	}
}

async function run(browser, svgFile, pngFile, names) {
	const page = await browser.newPage({ viewport: { width: 1220, height: 700 } });
	page.setDefaultTimeout(15000);
	page.on('pageerror', (e) => fail('script error in the page: ' + e.message));
	page.on('console', (m) => {
		if (m.type() === 'error')
			fail('console error: ' + m.text());
	});
	// Everything the SVG loads must be inside it.
	page.on('request', (r) => {
		if (!r.url().startsWith('file:'))
			fail('external request: ' + r.url());
	});

	await page.goto('file://' + path.resolve(svgFile));
	const hint = await page.evaluate(() => document.getElementById('status').textContent);
	if (!/click to zoom/.test(hint))
		fail('the script did not start: status line is "' + hint + '"');

	// fullPage screenshots hang on SVG documents: size the viewport instead.
	const size = await page.evaluate(() => {
		const r = document.documentElement.getBoundingClientRect();
		return { width: Math.ceil(r.width), height: Math.ceil(r.height) };
	});
	await page.setViewportSize({ width: Math.max(size.width, 400), height: Math.max(size.height, 200) });
	await page.screenshot({ path: pngFile });
	ok('screenshot ' + pngFile);

	// Names: each visible as the full text of a frame in some view.
	const nviews = Math.max(1, await viewCount(page));
	const foundIn = new Map();
	for (let v = 0; v < nviews; v++) {
		await switchView(page, v);
		for (const f of await visibleFrames(page))
			if (f.textShown && f.text === f.name && !foundIn.has(f.name))
				foundIn.set(f.name, v);
	}
	for (const n of names) {
		if (foundIn.has(n))
			ok('"' + n + '" is visible in view ' + foundIn.get(n));
		else
			fail('"' + n + '" is not a visible, untruncated frame text in any view');
	}
	const home = foundIn.has(names[0]) ? foundIn.get(names[0]) : 0;
	await switchView(page, home);

	// Hover: the status line names the frame.
	let frames = await visibleFrames(page);
	const some = frames.find((f) => f.shown && f.depth >= 1) || frames[0];
	if (some) {
		await page.mouse.move(some.cx, some.cy);
		const st = await page.evaluate(() => document.getElementById('status').textContent);
		if (st.startsWith(some.name.slice(0, 20)) && /%/.test(st))
			ok('hover shows "' + st + '"');
		else
			fail('hover over "' + some.name + '" shows "' + st + '"');
		await page.mouse.move(1, 1);
	}

	// Zoom: click a frame narrower than the graph; it must fill the width.
	const full = await page.evaluate(() =>
		+document.documentElement.getAttributeNS('urn:x-gilscope:flamegraph', 'width'));
	const target = frames.filter((f) => f.shown && f.depth >= 1 && f.width < full * 0.6 &&
					 f.width > 8).sort((a, b) => b.width - a.width)[0];
	if (!target) {
		fail('no frame narrower than the graph to zoom into');
	} else {
		await page.mouse.click(target.cx, target.cy);
		const after = await visibleFrames(page);
		const z = after.find((f) => f.name === target.name && f.depth === target.depth);
		const hidden = after.filter((f) => !f.shown).length;
		const changed = after.filter((f, i) => f.width !== frames[i].width).length;
		if (z && Math.abs(z.width - full) < 1 && changed > 0)
			ok('zoom on "' + target.name + '": ' + target.width.toFixed(1) + ' -> ' +
			   z.width.toFixed(1) + ' px, ' + changed + ' widths changed, ' + hidden + ' hidden');
		else
			fail('zoom on "' + target.name + '" did not widen it (' + (z ? z.width : 'gone') + ')');
		const reset = page.locator('#reset');
		if (!(await reset.isVisible())) {
			fail('"Reset zoom" not shown while zoomed');
		} else {
			await reset.click();
			const back = await visibleFrames(page);
			const same = back.every((f, i) => Math.abs(f.width - frames[i].width) < 0.02 &&
						 f.shown === frames[i].shown);
			if (same && !(await reset.isVisible()))
				ok('reset zoom restores the widths');
			else
				fail('reset zoom did not restore the layout');
		}
	}

	// Search with Ctrl-F for the first name (as a literal), then clear it.
	page.once('dialog', (d) => d.accept(escapeRegExp(names[0])));
	await page.keyboard.press('Control+f');
	frames = await visibleFrames(page);
	const hits = frames.filter((f) => f.hl);
	const matched = await page.evaluate(() => document.getElementById('matched').textContent);
	if (hits.length && hits.every((f) => f.name.includes(names[0]) && f.fill === HL_FILL) &&
	    /Matched: [0-9.]+%/.test(matched) && !/Matched: 0\.00%/.test(matched))
		ok('search "' + names[0] + '" highlights ' + hits.length + ' frame(s): ' + matched);
	else
		fail('search "' + names[0] + '": ' + hits.length + ' highlighted, status "' +
		     matched + '"');
	await page.locator('#search').click(); // now "Reset search"
	frames = await visibleFrames(page);
	if (frames.some((f) => f.hl))
		fail('"Reset search" left highlights');
	else
		ok('reset search clears the highlights');

	// Switch views when there are several.
	if (nviews > 1) {
		const to = home === 0 ? 1 : 0;
		await switchView(page, to);
		const shown = await shownView(page);
		const on = await page.evaluate(() =>
			Array.from(document.querySelectorAll('g.vb')).map((b) => b.classList.contains('on')));
		frames = await visibleFrames(page);
		if (shown.length === 1 && shown[0] === to && on[to] && !on[home] &&
		    frames.some((f) => f.shown))
			ok('selector switches to view ' + to + ' (' + frames.length + ' frames)');
		else
			fail('selector did not switch to view ' + to + ': shown ' + JSON.stringify(shown));
		await page.screenshot({ path: pngFile.replace(/(\.png)?$/, '-view' + to + '.png') });
	}
}

const watchdog = setTimeout(() => {
	console.error('FAIL: timed out');
	process.exit(1);
}, 180000);

main().then(() => {
	clearTimeout(watchdog);
	if (failures.length) {
		console.error('svgcheck: ' + failures.length + ' check(s) FAILED');
		process.exit(1);
	}
	console.log('svgcheck: all checks passed');
}, (e) => {
	console.error('FAIL: ' + (e && e.stack ? e.stack : e));
	process.exit(1);
});
