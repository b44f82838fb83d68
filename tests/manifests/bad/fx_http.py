app = {"routes": []}
