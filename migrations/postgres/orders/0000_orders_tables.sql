CREATE TABLE "orders"."orders_catalogue" (
	"sku" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"price_cents" integer NOT NULL,
	"source_time" text NOT NULL,
	"source_event_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "orders"."orders_orders" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"status" text NOT NULL,
	"items" text NOT NULL,
	"total_cents" bigint NOT NULL,
	"reason" text,
	"idempotency_key" text,
	"request_hash" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "orders"."orders_timeline" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"order_id" text NOT NULL,
	"type" text NOT NULL,
	"source" text NOT NULL,
	"time" text NOT NULL,
	"correlation_id" text NOT NULL,
	"causation_id" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX "orders_orders_idempotency" ON "orders"."orders_orders" USING btree ("user_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "orders_orders_user" ON "orders"."orders_orders" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_timeline_event" ON "orders"."orders_timeline" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "orders_timeline_order" ON "orders"."orders_timeline" USING btree ("order_id","seq");