<?php
// require this file (or add bindings/php/src to your PSR-4 autoloader as Referkit\).
declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Referkit\\')) {
        $file = __DIR__ . '/src/' . substr($class, strlen('Referkit\\')) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
