/*
 * SEMOPS web pages' service worker: keeps the app shell (pages, manifest, icons and the hashed build assets)
 * so the wallet opens offline and installs as an app. API calls (/v1/...) are never cached: balances,
 * requests and approvals always go to the processor.
 */
const CACHE = 'semops-shell-v1';
const SHELL = [
  './',
  'index.html',
  'wallet.html',
  'pos.html',
  'manifest.webmanifest',
  'pos.webmanifest',
  'icon.svg',
  'icon-192.png',
  'icon-512.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope).pathname;
  if (!url.pathname.startsWith(scope)) return;
  if (url.pathname.startsWith(`${scope}assets/`)) {
    // Hashed file names never change: cache first.
    event.respondWith(
      caches.match(request).then(
        (hit) =>
          hit ||
          fetch(request).then((res) => {
            if (res.ok) {
              const copy = res.clone();
              void caches.open(CACHE).then((cache) => cache.put(request, copy));
            }
            return res;
          }),
      ),
    );
    return;
  }
  // Pages and the rest of the shell: network first (a new build shows at once), the cache when offline.
  event.respondWith(
    fetch(request)
      .then((res) => {
        if (res.ok) {
          // Keyed without the query: a page opened with ?code=… is the same page.
          const copy = res.clone();
          void caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return res;
      })
      .catch(() =>
        caches
          .match(request, { ignoreSearch: true })
          .then((hit) => hit || caches.match('wallet.html'))
          .then((hit) => hit || Response.error()),
      ),
  );
});
