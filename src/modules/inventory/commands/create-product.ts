import { HttpProblem, type ModuleContext } from '../../../kernel/index.js';
import { productCreated } from '../contracts.js';
import { findProductRow, type Product, toProduct } from '../queries.js';
import { inventoryProducts } from '../schema.js';

export interface CreateProductInput {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly stock: number;
}

/** Adds a product and publishes inventory.product-created with its full state. */
export async function createProduct(ctx: ModuleContext, input: CreateProductInput): Promise<Product> {
  return await ctx.transact(async (tx) => {
    if (await findProductRow(tx.db, input.sku)) {
      throw new HttpProblem(409, 'INVENTORY_SKU_TAKEN', `a product with sku ${input.sku} exists`);
    }
    const now = Date.now();
    const [row] = await tx.db
      .insert(inventoryProducts)
      .values({ ...input, reserved: 0, createdAt: now, updatedAt: now })
      .returning();
    if (!row) throw new Error(`inventory: the insert of ${input.sku} returned no row`);
    const product = toProduct(row);
    await tx.stage(productCreated(product));
    return product;
  });
}
