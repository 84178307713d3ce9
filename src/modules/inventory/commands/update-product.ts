import { eq } from 'drizzle-orm';
import { HttpProblem, type ModuleContext } from '../../../kernel/index.js';
import { productUpdated } from '../contracts.js';
import { type Product, toProduct } from '../queries.js';
import { inventoryProducts } from '../schema.js';

export interface UpdateProductInput {
  readonly priceCents?: number;
  /** The new available stock. */
  readonly stock?: number;
}

/** Changes price and/or available stock; publishes inventory.product-updated with the full state. */
export async function updateProduct(
  ctx: ModuleContext,
  sku: string,
  input: UpdateProductInput,
): Promise<Product> {
  return await ctx.transact(async (tx) => {
    const [row] = await tx.db
      .update(inventoryProducts)
      .set({
        ...(input.priceCents === undefined ? {} : { priceCents: input.priceCents }),
        ...(input.stock === undefined ? {} : { stock: input.stock }),
        updatedAt: Date.now(),
      })
      .where(eq(inventoryProducts.sku, sku))
      .returning();
    // No row updated: no such product (one statement instead of a read, then the update).
    if (!row) throw new HttpProblem(404, 'INVENTORY_PRODUCT_NOT_FOUND', `no product with sku ${sku}`);
    const product = toProduct(row);
    await tx.stage(productUpdated(product));
    return product;
  });
}
