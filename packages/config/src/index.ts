/** Reading the environment, once per app. */
export {};
