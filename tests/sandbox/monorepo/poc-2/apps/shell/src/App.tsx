import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { AuthProvider } from '@mfe-poc/shared-auth';
import { Routes } from './Routes';

const queryClient = new QueryClient();

function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <AuthProvider>
        <Routes />
      </AuthProvider>
    </QueryClientProvider>
  );
}

export default App;
