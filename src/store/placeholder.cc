namespace hull {}  // the module's sources land here
