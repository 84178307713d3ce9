/** The problem codes of the inventory routes (served at /docs/errors). */
export const inventoryErrors = {
  INVENTORY_SKU_TAKEN: 'A product with this SKU exists: update it instead (PATCH /inventory/products/:sku).',
  INVENTORY_PRODUCT_NOT_FOUND: 'No product has this SKU.',
} as const;
