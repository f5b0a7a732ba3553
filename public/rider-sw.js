// The rider app's service worker (scope /rider). It keeps the app shell — the page, the wasm
// (with the rider's lazily loaded chunks), its JavaScript and the stylesheet — so the rider
// app opens without a network, showing the last list it had (the page keeps that list itself,
// with an "offline" banner).
//
// Network first, cache as the fallback: a rider must see fresh deliveries whenever there is
// any connection, and the cached copy only when there is none. Server functions (POST) and the
// live-update stream are never cached; actions are refused by the page while offline.
// The page deletes this cache at sign-out (ui::rider::forget_rider_data): keep the names equal.
// The build stamps __PKG__ with the assets' versioned directory (scripts/build.sh), so a new
// build is a new worker: it installs the new files and drops the old ones.
const CACHE = 'baedal-rider-v1';
const PKG = '__PKG__';
const SHELL = [
  '/rider',
  `${PKG}/baedal.js`,
  `${PKG}/baedal_bg.wasm`,
  `${PKG}/baedal.css`,
  // The loader of the lazily loaded code, and the chunks the rider's page needs (listed by
  // scripts/build.sh from the split manifest).
  `${PKG}/__wasm_split.______________________.js`,
  // __RIDER_CHUNKS__
  '/manifest.webmanifest',
  '/icons/rider-192.png',
  '/icons/rider-512.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // One missing piece (say, /rider while signed out) must not stop the rest.
      Promise.all(SHELL.map((url) => cache.add(url).catch(() => undefined))),
    ),
  );
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      // Assets of earlier builds are never asked for again.
      .then(() => caches.open(CACHE))
      .then((cache) =>
        cache.keys().then((requests) =>
          Promise.all(
            requests
              .filter((r) => new URL(r.url).pathname.startsWith('/pkg/'))
              .filter((r) => !new URL(r.url).pathname.startsWith(`${PKG}/`))
              .map((r) => cache.delete(r)),
          ),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === '/live' || url.pathname.startsWith('/api/')) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok && response.type === 'basic') {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() =>
        caches
          .match(request, { ignoreSearch: request.mode === 'navigate' })
          .then((cached) => cached || (request.mode === 'navigate' ? caches.match('/rider') : undefined))
          .then((cached) => cached || Response.error()),
      ),
  );
});
