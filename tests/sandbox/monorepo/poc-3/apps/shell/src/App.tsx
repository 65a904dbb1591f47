import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { AuthProvider } from '@mfe-poc/shared-auth';
import { WebSocketProvider } from '@mfe-poc/shared-websocket';
import { Routes } from './Routes';

const queryClient = new QueryClient();

function App() {
  return (
    <WebSocketProvider>
      <QueryClientProvider client={queryClient}>
        <AuthProvider>
          <Routes />
        </AuthProvider>
      </QueryClientProvider>
    </WebSocketProvider>
  );
}

export default App;
