// Tests in one assembly run one class at a time where they share machine resources (network namespaces).
