CREATE INDEX `kernel_dead_letters_failed` ON `kernel_dead_letters` (`failed_at`,`id`);--> statement-breakpoint
CREATE INDEX `kernel_sagas_created` ON `kernel_sagas` (`created_at`,`name`,`id`);