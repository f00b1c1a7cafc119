/**
 * The example web shop that `semops demo` runs: a merchant backend built on @semops/merchant-sdk with the
 * SEMOPS checkout button on its page.
 */
export { startShop, DEFAULT_PRODUCTS, type Shop, type ShopOptions, type Product } from './server.js';
export { createOrderBook, type Order, type OrderBook, type OrderStatus } from './orders.js';
export { startDemoShop, type DemoShopState } from './demo.js';
