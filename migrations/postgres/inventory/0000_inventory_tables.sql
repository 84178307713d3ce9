CREATE TABLE "inventory"."inventory_products" (
	"sku" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"price_cents" integer NOT NULL,
	"stock" bigint NOT NULL,
	"reserved" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "inventory_products_price_positive" CHECK ("inventory"."inventory_products"."price_cents" > 0),
	CONSTRAINT "inventory_products_stock_not_negative" CHECK ("inventory"."inventory_products"."stock" >= 0),
	CONSTRAINT "inventory_products_reserved_not_negative" CHECK ("inventory"."inventory_products"."reserved" >= 0)
);
--> statement-breakpoint
CREATE TABLE "inventory"."inventory_reservations" (
	"order_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"status" text NOT NULL,
	"items" text NOT NULL,
	"short_skus" text NOT NULL,
	"updated_at" bigint NOT NULL
);
