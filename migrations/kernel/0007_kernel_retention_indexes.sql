CREATE INDEX `kernel_inbox_handled` ON `kernel_inbox` (`handled_at`);--> statement-breakpoint
CREATE INDEX `kernel_outbox_published` ON `kernel_outbox` (`published_at`) WHERE published_at IS NOT NULL;