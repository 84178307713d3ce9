DROP INDEX `orders_orders_user`;--> statement-breakpoint
CREATE INDEX `orders_orders_user` ON `orders_orders` (`user_id`,`created_at`,`id`);