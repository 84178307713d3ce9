CREATE TABLE `orders_catalogue` (
	`sku` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`price_cents` integer NOT NULL,
	`source_time` text NOT NULL,
	`source_event_id` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `orders_orders` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`items` text NOT NULL,
	`total_cents` integer NOT NULL,
	`reason` text,
	`idempotency_key` text,
	`request_hash` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `orders_orders_idempotency` ON `orders_orders` (`user_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `orders_orders_user` ON `orders_orders` (`user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `orders_timeline` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`order_id` text NOT NULL,
	`type` text NOT NULL,
	`source` text NOT NULL,
	`time` text NOT NULL,
	`correlation_id` text NOT NULL,
	`causation_id` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `orders_timeline_event` ON `orders_timeline` (`event_id`);--> statement-breakpoint
CREATE INDEX `orders_timeline_order` ON `orders_timeline` (`order_id`,`seq`);