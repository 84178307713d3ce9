import { Type } from 'typebox';
import {
  type HttpApp,
  HttpProblem,
  type ModuleContext,
  PageOf,
  PageQuery,
  requireAdmin,
} from '../../kernel/index.js';
import { createProduct } from './commands/create-product.js';
import { updateProduct } from './commands/update-product.js';
import { findProduct, listProducts } from './queries.js';

const strict = { additionalProperties: false } as const;
/** Skus appear in URLs: letters, digits and `._-`, starting with a letter or digit. */
const Sku = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const PriceCents = Type.Integer({ minimum: 1, maximum: 1_000_000_000 });
const Stock = Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'available units' });

const Product = Type.Object(
  {
    sku: Type.String(),
    name: Type.String(),
    priceCents: Type.Integer(),
    stock: Type.Integer({ description: 'available units (not counting reserved ones)' }),
    reserved: Type.Integer({ description: 'units held by orders' }),
  },
  strict,
);
const CreateBody = Type.Object(
  { sku: Sku, name: Type.String({ minLength: 1, maxLength: 200 }), priceCents: PriceCents, stock: Stock },
  strict,
);
const UpdateBody = Type.Object(
  { priceCents: Type.Optional(PriceCents), stock: Type.Optional(Stock) },
  { ...strict, minProperties: 1 },
);
const SkuParams = Type.Object({ sku: Sku }, strict);
const admin = { onRequest: requireAdmin } as const;
const tags = ['inventory'];
const security = [{ bearer: [] }];

export function inventoryRoutes(app: HttpApp, ctx: ModuleContext): void {
  app.post(
    '/inventory/products',
    {
      ...admin,
      schema: { tags, security, summary: 'Add a product 🛡', body: CreateBody, response: { 201: Product } },
    },
    async (request, reply) => reply.status(201).send(await createProduct(ctx, request.body)),
  );

  app.patch(
    '/inventory/products/:sku',
    {
      ...admin,
      schema: {
        tags,
        security,
        summary: 'Change the price or the available stock 🛡',
        params: SkuParams,
        body: UpdateBody,
        response: { 200: Product },
      },
    },
    async (request) => updateProduct(ctx, request.params.sku, request.body),
  );

  app.get(
    '/inventory/products',
    {
      schema: {
        tags,
        summary: 'The products, by sku, a page at a time',
        querystring: PageQuery(),
        response: { 200: PageOf(Product) },
      },
    },
    async (request) => listProducts(ctx.db, request.query),
  );

  app.get(
    '/inventory/products/:sku',
    { schema: { tags, summary: 'One product', params: SkuParams, response: { 200: Product } } },
    async (request) => {
      const product = await findProduct(ctx.db, request.params.sku);
      if (!product)
        throw new HttpProblem(
          404,
          'INVENTORY_PRODUCT_NOT_FOUND',
          `no product with sku ${request.params.sku}`,
        );
      return product;
    },
  );
}
